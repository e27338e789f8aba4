// /v1/status/*: a single-node agent is its own leader and only peer (contract 4.15).
#include <boost/asio/use_awaitable.hpp>

#include "http/api.h"

namespace beacon::http {

namespace asio = boost::asio;

asio::awaitable<HttpResponse> Api::StatusLeader(Call&) {
  // Consul reports the leader's server RPC address (port 8300), not the HTTP address.
  co_return HttpResponse::Json("\"" + info_.address + ":8300\"");
}

asio::awaitable<HttpResponse> Api::StatusPeers(Call&) {
  co_return HttpResponse::Json("[\"" + info_.address + ":8300\"]");
}

}  // namespace beacon::http
