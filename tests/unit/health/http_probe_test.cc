// HTTP probe pieces without sockets: request building, status classes, output format.
#include "health/http_probe.h"

#include <gtest/gtest.h>

#include <string>

namespace beacon::health {
namespace {

using catalog::HealthStatus;

HttpUrl Url(const std::string& s) {
  Result<HttpUrl> u = ParseHttpUrl(s);
  EXPECT_TRUE(u.ok());
  return *u;
}

TEST(HttpProbe, RequestHasConsulDefaults) {
  std::string r = BuildHttpRequest(Url("http://127.0.0.1:8080/health?x=1"), "GET", {}, "");
  EXPECT_EQ(r,
            "GET /health?x=1 HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "User-Agent: Consul Health Check\r\n"
            "Accept: text/plain, text/*, */*\r\n"
            "Connection: close\r\n\r\n");
}

TEST(HttpProbe, RequestUsesGivenHeadersBodyAndHost) {
  std::map<std::string, std::vector<std::string>> headers = {
      {"X-Token", {"a", "b"}},
      {"user-agent", {"mine"}},
      {"ACCEPT", {"application/json"}},
      {"Host", {"svc.internal"}},
      {"Bad", {"evil\r\nInjected: 1"}},
      {"Content-Length", {"999"}},
  };
  std::string r = BuildHttpRequest(Url("http://10.0.0.1/p"), "POST", headers, "{}");
  EXPECT_EQ(r,
            "POST /p HTTP/1.1\r\n"
            "Host: svc.internal\r\n"
            "ACCEPT: application/json\r\n"
            "X-Token: a\r\n"
            "X-Token: b\r\n"
            "user-agent: mine\r\n"
            "Content-Length: 2\r\n"
            "Connection: close\r\n\r\n{}");
}

TEST(HttpProbe, KeepAliveRequestHasNoConnectionHeader) {
  std::string r = BuildHttpRequest(Url("http://127.0.0.1:8080/health"), "GET", {}, "", true);
  EXPECT_EQ(r,
            "GET /health HTTP/1.1\r\n"
            "Host: 127.0.0.1:8080\r\n"
            "User-Agent: Consul Health Check\r\n"
            "Accept: text/plain, text/*, */*\r\n\r\n");
}

TEST(HttpProbe, KeepsConnectionsOnlyForPlainHttpAndIdempotentMethods) {
  struct Case {
    const char* url;
    const char* method;
    bool keep;
  };
  for (const Case& c : {Case{"http://h/", "GET", true}, Case{"http://h/", "HEAD", true},
                        Case{"http://h/", "PUT", true}, Case{"http://h/", "DELETE", true},
                        Case{"http://h/", "OPTIONS", true}, Case{"http://h/", "POST", false},
                        Case{"http://h/", "PATCH", false}, Case{"https://h/", "GET", false}}) {
    SCOPED_TRACE(std::string(c.method) + " " + c.url);
    EXPECT_EQ(HttpKeepAliveAllowed(Url(c.url), c.method), c.keep);
  }
  catalog::CheckDefinition def;
  def.type = catalog::CheckType::kHttp;
  def.http = "http://127.0.0.1/";
  EXPECT_EQ(MakeHttpSpec(def).request.find("Connection:"), std::string::npos);
  def.method = "POST";
  EXPECT_NE(MakeHttpSpec(def).request.find("\r\nConnection: close\r\n"), std::string::npos);
  def.method = "GET";
  def.http = "https://127.0.0.1/";
  EXPECT_NE(MakeHttpSpec(def).request.find("\r\nConnection: close\r\n"), std::string::npos);
}

TEST(HttpProbe, EmptyPutStillSendsContentLength) {
  std::string r = BuildHttpRequest(Url("http://h/"), "PUT", {}, "");
  EXPECT_NE(r.find("Content-Length: 0\r\n"), std::string::npos);
}

TEST(HttpProbe, ClassifiesStatusCodes) {
  EXPECT_EQ(ClassifyHttpStatus(200), HealthStatus::kPassing);
  EXPECT_EQ(ClassifyHttpStatus(204), HealthStatus::kPassing);
  EXPECT_EQ(ClassifyHttpStatus(299), HealthStatus::kPassing);
  EXPECT_EQ(ClassifyHttpStatus(429), HealthStatus::kWarning);
  EXPECT_EQ(ClassifyHttpStatus(301), HealthStatus::kCritical);  // redirects are not followed
  EXPECT_EQ(ClassifyHttpStatus(404), HealthStatus::kCritical);
  EXPECT_EQ(ClassifyHttpStatus(503), HealthStatus::kCritical);
  EXPECT_EQ(ClassifyHttpStatus(199), HealthStatus::kCritical);
}

TEST(HttpProbe, FormatsOutputLikeConsul) {
  EXPECT_EQ(FormatHttpOutput("GET", "http://h/health", 200, "OK", "fine"),
            "HTTP GET http://h/health: 200 OK Output: fine");
  EXPECT_EQ(FormatHttpOutput("HEAD", "http://h/", 503, "", ""),
            "HTTP HEAD http://h/: 503 Output: ");
}

TEST(HttpProbe, SpecUpperCasesMethodAndKeepsUrlErrors) {
  catalog::CheckDefinition def;
  def.type = catalog::CheckType::kHttp;
  def.http = "http://127.0.0.1:1/x";
  def.method = "post";
  HttpSpec s = MakeHttpSpec(def);
  EXPECT_EQ(s.method, "POST");
  ASSERT_TRUE(s.parsed.has_value());
  EXPECT_EQ(s.request.substr(0, 15), "POST /x HTTP/1.");

  def.http = "gopher://x";
  s = MakeHttpSpec(def);
  EXPECT_FALSE(s.parsed.has_value());
  EXPECT_NE(s.error.find("gopher"), std::string::npos);
}

TEST(HttpProbe, TimeoutDefaultsAndIsCappedByInterval) {
  using std::chrono::seconds;
  catalog::CheckDefinition def;
  def.interval = seconds(30);
  EXPECT_EQ(EffectiveTimeout(def, seconds(10)), seconds(10));
  def.timeout = seconds(20);
  EXPECT_EQ(EffectiveTimeout(def, seconds(10)), seconds(20));
  def.interval = seconds(5);
  EXPECT_EQ(EffectiveTimeout(def, seconds(10)), seconds(5));
  def.timeout = std::chrono::nanoseconds(0);
  EXPECT_EQ(EffectiveTimeout(def, seconds(10)), seconds(5));
}

TEST(HttpProbe, SpecCapsOutputAtOutputMaxSize) {
  catalog::CheckDefinition def;
  def.type = catalog::CheckType::kHttp;
  def.http = "http://127.0.0.1/";
  def.interval = std::chrono::seconds(1);
  EXPECT_EQ(MakeProbeSpec(def, std::chrono::seconds(10)).output_max_size, 4096u);
  def.output_max_size = 100;
  EXPECT_EQ(MakeProbeSpec(def, std::chrono::seconds(10)).output_max_size, 100u);
}

TEST(HttpProbe, FormatDuration) {
  using namespace std::chrono_literals;
  EXPECT_EQ(FormatDuration(10s), "10s");
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(1500ms), "1.5s");
}

}  // namespace
}  // namespace beacon::health
