#include "cli/client_common.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <iostream>

#include "cli/commands.h"

namespace beacon::cli {

void AddClientFlags(CLI::App& app, ClientFlags& flags, bool with_format) {
  app.add_option("--http-addr", flags.http_addr,
                 "Agent HTTP address: host:port or http://host:port (default $CONSUL_HTTP_ADDR, "
                 "else 127.0.0.1:8500)");
  app.add_option("--token", flags.token, "ACL token sent as X-Consul-Token ($CONSUL_HTTP_TOKEN)");
  app.add_option("--datacenter", flags.datacenter, "Datacenter to query (default: the agent's)");
  if (with_format) {
    app.add_option("--format", flags.format, "Output format: table or json")
        ->capture_default_str()
        ->check(CLI::IsMember({"table", "json"}));
  }
}

namespace {

// CLI11 spells long flags "--name"; we show them as Consul does, "-name".
std::string SingleDash(std::string text) {
  for (size_t at = text.find("--"); at != std::string::npos; at = text.find("--", at + 1)) {
    bool starts_word = at == 0 || text[at - 1] == ' ' || text[at - 1] == ',' ||
                       text[at - 1] == '[' || text[at - 1] == '\n';
    if (starts_word && at + 2 < text.size() &&
        std::isalpha(static_cast<unsigned char>(text[at + 2]))) {
      text.erase(at, 1);
    }
  }
  return text;
}

}  // namespace

std::optional<int> ParseArgs(CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args = ConsulStyleArgs(argc, argv);
  std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 wants them reversed
  try {
    app.parse(reversed);
  } catch (const CLI::Success&) {  // -h / --help
    std::cout << SingleDash(app.help());
    return kExitOk;
  } catch (const CLI::ParseError& e) {
    return UsageError(app.get_name(), SingleDash(e.what()));
  }
  return std::nullopt;
}

std::shared_ptr<client::Client> MakeClient(const ClientFlags& flags, std::string_view command,
                                           int* exit_code) {
  client::ClientOptions options;
  options.address = flags.http_addr;
  options.token = flags.token;
  options.datacenter = flags.datacenter;
  auto c = client::Client::Create(std::move(options));
  if (!c.ok()) {
    *exit_code = UsageError(command, c.status().message());
    return nullptr;
  }
  return std::shared_ptr<client::Client>(std::move(*c));
}

int ReportError(std::string_view doing, const client::Status& status) {
  std::fprintf(stderr, "Error %.*s: %s\n", static_cast<int>(doing.size()), doing.data(),
               status.message().c_str());
  return status.ok() ? kExitOk : kExitError;
}

int UsageError(std::string_view command, std::string_view message) {
  std::fprintf(stderr, "%.*s: %.*s\nRun '%.*s -h' for usage.\n", static_cast<int>(command.size()),
               command.data(), static_cast<int>(message.size()), message.data(),
               static_cast<int>(command.size()), command.data());
  return kExitUsage;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()), 0);
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(widths[i] - row[i].size() + 2, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') {
      line.pop_back();
    }
    out += line + "\n";
  }
  std::fputs(out.c_str(), stdout);
}

std::string JoinComma(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    out += (out.empty() ? "" : ",") + s;
  }
  return out;
}

std::vector<std::vector<std::string>> HealthRows(const std::vector<client::ServiceEntry>& entries) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "Service", "Node", "Address", "Status", "Tags"}};
  for (const client::ServiceEntry& e : entries) {
    std::string address = e.Address();
    if (address.find(':') != std::string::npos) {
      address = "[" + address + "]";
    }
    rows.push_back({e.service.id, e.service.service, e.node.node,
                    address + ":" + std::to_string(e.service.port),
                    std::string(client::HealthStatusName(e.AggregatedStatus())),
                    JoinComma(e.service.tags)});
  }
  return rows;
}

}  // namespace beacon::cli
