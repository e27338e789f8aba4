#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace beacon {
namespace {

TEST(Metrics, CounterLookupReturnsTheSameMetric) {
  MetricsRegistry m("consul");
  Counter* a = m.GetCounter("http.requests", {{"code", "200"}});
  Counter* b = m.GetCounter("http.requests", {{"code", "200"}});
  Counter* c = m.GetCounter("http.requests", {{"code", "404"}});
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(Metrics, PrometheusTextHasTypesTotalsAndBuckets) {
  MetricsRegistry m("consul");
  m.GetCounter("catalog.register", {}, "Registrations")->Inc(3);
  m.GetGauge("catalog.nodes")->Set(2);
  Histogram* h = m.GetHistogram("store.commit_duration_seconds", {}, {0.001, 0.01});
  h->Observe(0.0005);
  h->Observe(0.005);
  h->Observe(5);
  std::string text = m.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE consul_catalog_register_total counter\n"
                      "consul_catalog_register_total 3\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("consul_catalog_nodes 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("consul_store_commit_duration_seconds_bucket{le=\"0.001\"} 1\n"
                      "consul_store_commit_duration_seconds_bucket{le=\"0.01\"} 2\n"
                      "consul_store_commit_duration_seconds_bucket{le=\"+Inf\"} 3\n"
                      "consul_store_commit_duration_seconds_sum 5.0055\n"
                      "consul_store_commit_duration_seconds_count 3\n"),
            std::string::npos)
      << text;
}

TEST(Metrics, LabelValuesAreEscaped) {
  MetricsRegistry m("consul");
  m.GetCounter("x", {{"route", "a\"b\\c"}})->Inc();
  EXPECT_NE(m.RenderPrometheus().find("consul_x_total{route=\"a\\\"b\\\\c\"} 1"),
            std::string::npos);
}

TEST(Metrics, JsonHasConsulShape) {
  MetricsRegistry m("consul");
  m.GetCounter("catalog.register")->Inc(2);
  m.GetGauge("catalog.nodes", {{"dc", "dc1"}})->Set(1);
  m.GetHistogram("http.request_duration_seconds")->Observe(0.5);
  std::string json = m.RenderJson();
  EXPECT_NE(json.find("\"Gauges\":[{\"Name\":\"consul.catalog.nodes\",\"Value\":1,"
                      "\"Labels\":{\"dc\":\"dc1\"}}]"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("{\"Name\":\"consul.catalog.register\",\"Count\":2,"), std::string::npos)
      << json;
  EXPECT_NE(json.find("\"Samples\":[{\"Name\":\"consul.http.request_duration_seconds\","
                      "\"Count\":1,"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"Points\":[]"), std::string::npos);
}

TEST(Metrics, CollectorsRunBeforeRender) {
  MetricsRegistry m("consul");
  int runs = 0;
  m.AddCollector([&runs](MetricsRegistry& r) { r.GetGauge("runs")->Set(++runs); });
  m.RenderPrometheus();
  EXPECT_NE(m.RenderPrometheus().find("consul_runs 2\n"), std::string::npos);
}

TEST(Metrics, ConcurrentIncrementsAreAllCounted) {
  MetricsRegistry m("consul");
  Counter* c = m.GetCounter("n");
  Histogram* h = m.GetHistogram("h", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c->Inc();
        h->Observe(0.5);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c->value(), 40000u);
  EXPECT_EQ(h->Read().count, 40000u);
  EXPECT_DOUBLE_EQ(h->Read().sum, 20000.0);
}

TEST(Metrics, RssIsReported) { EXPECT_GT(ProcessRssBytes(), 0u); }

}  // namespace
}  // namespace beacon
