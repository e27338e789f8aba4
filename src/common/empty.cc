// Intentionally empty: the source of libraries whose folder has no sources yet (src/CMakeLists.txt).
