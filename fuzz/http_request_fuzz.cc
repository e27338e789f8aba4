// HTTP request handling up to the handler: Beast's request parser with the server's limits, then
// the server's own target splitting and query parsing (src/http/server.cc, Serve()).
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>

#include "http/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.body_limit(512 * 1024);
  parser.header_limit(64 * 1024);
  parser.eager(true);
  boost::system::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec || !parser.is_done()) return 0;
  auto& msg = parser.get();
  std::string_view target = msg.target();
  size_t q = target.find('?');
  (void)beacon::http::PercentDecode(target.substr(0, q), false);
  (void)beacon::http::QueryParams::Parse(q == std::string_view::npos ? "" : target.substr(q + 1));
  for (const auto& field : msg) (void)field.value();
  return 0;
}
