#include "health/probe.h"

#include <algorithm>

#include "health/grpc_probe.h"
#include "health/http_probe.h"
#include "health/tcp_probe.h"

namespace beacon::health {

std::chrono::nanoseconds EffectiveTimeout(const catalog::CheckDefinition& def,
                                          std::chrono::nanoseconds default_timeout) {
  std::chrono::nanoseconds t = def.timeout.count() > 0 ? def.timeout : default_timeout;
  if (def.interval.count() > 0) {
    t = std::min(t, def.interval);
  }
  return t;
}

bool IsRunnable(const catalog::Check& check) {
  if (!check.agent_owned || check.definition.interval.count() <= 0) {
    return false;
  }
  switch (check.definition.type) {
    case catalog::CheckType::kHttp:
      return !check.definition.http().empty();
    case catalog::CheckType::kTcp:
      return !check.definition.tcp().empty();
    case catalog::CheckType::kGrpc:
      return !check.definition.grpc().empty();
    default:
      return false;
  }
}

ProbeSpec MakeProbeSpec(const catalog::CheckDefinition& def,
                        std::chrono::nanoseconds default_timeout) {
  ProbeSpec spec;
  spec.timeout = EffectiveTimeout(def, default_timeout);
  spec.output_max_size =
      def.output_max_size > 0 ? static_cast<size_t>(def.output_max_size) : kDefaultOutputMaxSize;
  switch (def.type) {
    case catalog::CheckType::kTcp:
      spec.kind = MakeTcpSpec(def);
      break;
    case catalog::CheckType::kGrpc:
      spec.kind = MakeGrpcSpec(def, spec.timeout);
      break;
    default:
      spec.kind = MakeHttpSpec(def);
      break;
  }
  return spec;
}

boost::asio::awaitable<ProbeResult> RunProbe(std::shared_ptr<const ProbeSpec> spec,
                                             std::shared_ptr<TlsContexts> tls,
                                             boost::asio::any_io_executor executor) {
  if (std::holds_alternative<TcpSpec>(spec->kind)) {
    co_return co_await RunTcpProbe(std::move(spec), std::move(tls), std::move(executor));
  }
  if (std::holds_alternative<GrpcSpec>(spec->kind)) {
    co_return co_await RunGrpcProbe(std::move(spec), std::move(tls), std::move(executor));
  }
  co_return co_await RunHttpProbe(std::move(spec), std::move(tls), std::move(executor));
}

}  // namespace beacon::health
