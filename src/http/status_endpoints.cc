// /v1/status/*: a single-node agent is its own leader and only peer (contract 4.15).
#include <boost/asio/use_awaitable.hpp>

#include "http/api.h"

namespace beacon::http {

namespace asio = boost::asio;

asio::awaitable<HttpResponse> Api::StatusLeader(Call&) {
  // Consul reports the leader's server RPC address (port 8300), not the HTTP address; "" when
  // there is no leader. In cluster mode: the agent holding the cluster's leader key.
  std::string leader = cluster_ ? cluster_->Leader() : info_.address + ":8300";
  co_return HttpResponse::Json("\"" + leader + "\"");
}

asio::awaitable<HttpResponse> Api::StatusPeers(Call&) {
  std::vector<std::string> peers =
      cluster_ ? cluster_->Peers() : std::vector<std::string>{info_.address + ":8300"};
  std::string body = "[";
  for (size_t i = 0; i < peers.size(); ++i) {
    if (i) body += ',';
    body += "\"" + peers[i] + "\"";
  }
  body += "]";
  co_return HttpResponse::Json(std::move(body));
}

}  // namespace beacon::http
