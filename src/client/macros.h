// Early-return helpers for the client's Status and Result (the server's live in common/status.h
// and name beacon::Status, so the client has its own).
#pragma once

#include "beacon/status.h"

#define BEACON_CLIENT_CONCAT_INNER_(a, b) a##b
#define BEACON_CLIENT_CONCAT_(a, b) BEACON_CLIENT_CONCAT_INNER_(a, b)

// Returns the status from the enclosing function if it is not OK.
#define BEACON_CLIENT_RETURN_IF_ERROR(expr)                  \
  do {                                                       \
    ::beacon::client::Status beacon_client_status_ = (expr); \
    if (!beacon_client_status_.ok()) {                       \
      return beacon_client_status_;                          \
    }                                                        \
  } while (0)

// `BEACON_CLIENT_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns its status.
#define BEACON_CLIENT_ASSIGN_OR_RETURN(lhs, rexpr)                                             \
  BEACON_CLIENT_ASSIGN_OR_RETURN_IMPL_(BEACON_CLIENT_CONCAT_(beacon_client_result_, __LINE__), \
                                       lhs, rexpr)
#define BEACON_CLIENT_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                         \
  if (!tmp.ok()) {                                            \
    return tmp.status();                                      \
  }                                                           \
  lhs = std::move(tmp).value()
