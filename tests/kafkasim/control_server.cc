#include "tests/kafkasim/control_server.h"

#include <httplib.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace isrguard::kafkasim {

using nlohmann::json;

namespace {

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(2) + "\n", "application/json");
}

bool flag(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return false;
  const auto v = req.get_param_value(name);
  return v == "1" || v == "true" || v == "yes";
}

// Parses and applies one step object; answers 400 on any error.
void apply_step(Cluster& cluster, const json& step, httplib::Response& res) {
  try {
    const Step s = parse_step(step);
    s.apply(cluster);
    reply(res, 200, {{"applied", step}});
  } catch (const std::exception& e) {
    reply(res, 400, {{"error", e.what()}});
  }
}

// The step of POST /brokers/{id}/{down|up|hang|kill|partition|latency|config}; on bad input answers 400 and returns nullopt.
std::optional<json> broker_route_step(const httplib::Request& req, httplib::Response& res) {
  json step;
  try {
    step["broker"] = std::stoi(req.matches[1].str());
  } catch (const std::exception&) {
    reply(res, 400, {{"error", "broker id out of range"}});
    return std::nullopt;
  }
  const std::string op = req.matches[2].str();
  if (op == "down") {
    step["action"] = "broker_down";
    step["shrink_isr"] = flag(req, "shrink_isr");
    step["elect_leaders"] = flag(req, "elect_leaders");
  } else if (op == "up") {
    step["action"] = "broker_up";
    step["rejoin_isr"] = flag(req, "rejoin_isr");
    step["elect_leaders"] = flag(req, "elect_leaders");
    step["preferred"] = flag(req, "preferred");
  } else if (op == "hang" || op == "kill" || op == "partition") {
    step["action"] = "broker_" + op;
  } else if (op == "config") {
    // ?key=K&value=V sets the broker's own config K; without value it is removed.
    step["action"] = "set_broker_config";
    step["key"] = req.get_param_value("key");
    step["value"] = req.has_param("value") ? json(req.get_param_value("value")) : json(nullptr);
  } else {
    step["action"] = "set_latency";
    try {
      step["ms"] = std::stoi(req.get_param_value("ms"));
    } catch (const std::exception&) {
      reply(res, 400, {{"error", "latency needs ?ms=<milliseconds>"}});
      return std::nullopt;
    }
  }
  return step;
}

// The step in a request body (its "action" set to `action` unless null); on bad input answers 400 and
// returns nullopt.
std::optional<json> body_step(const httplib::Request& req, httplib::Response& res, const char* action) {
  json step;
  try {
    step = json::parse(req.body);
  } catch (const json::parse_error& e) {
    reply(res, 400, {{"error", std::string("invalid JSON body: ") + e.what()}});
    return std::nullopt;
  }
  if (!step.is_object()) {
    reply(res, 400, {{"error", "body must be a JSON object"}});
    return std::nullopt;
  }
  if (action != nullptr) step["action"] = action;
  return step;
}

}  // namespace

ControlServer::ControlServer(Cluster& cluster, Timeline* timeline)
    : cluster_(cluster), timeline_(timeline), server_(std::make_unique<httplib::Server>()) {}

ControlServer::~ControlServer() { stop(); }

int ControlServer::start(int port) {
  auto& svr = *server_;
  svr.Get("/state", [this](const httplib::Request&, httplib::Response& res) {
    json s = state_json(cluster_);
    if (timeline_ != nullptr) s["scenario"] = timeline_->status();
    reply(res, 200, s);
  });
  svr.Post(R"(/brokers/(-?\d+)/(down|up|hang|kill|partition|latency|config))",
           [this](const httplib::Request& req, httplib::Response& res) {
             if (const auto step = broker_route_step(req, res)) apply_step(cluster_, *step, res);
           });
  // ?topic=T (else every topic) &error_code=N (default 29; 0 serves the configs again).
  svr.Post("/configs/refuse", [this](const httplib::Request& req, httplib::Response& res) {
    json step = {{"action", "refuse_configs"}};
    if (req.has_param("topic")) step["topic"] = req.get_param_value("topic");
    if (req.has_param("error_code")) {
      try {
        step["error_code"] = std::stoi(req.get_param_value("error_code"));
      } catch (const std::exception&) {
        reply(res, 400, {{"error", "error_code must be a number"}});
        return;
      }
    }
    apply_step(cluster_, step, res);
  });
  svr.Post("/partitions", [this](const httplib::Request& req, httplib::Response& res) {
    if (const auto step = body_step(req, res, "set_partition")) apply_step(cluster_, *step, res);
  });
  svr.Post("/scenario/step", [this](const httplib::Request& req, httplib::Response& res) {
    if (const auto step = body_step(req, res, nullptr)) apply_step(cluster_, *step, res);
  });
  svr.Post("/scenario/advance", [this](const httplib::Request&, httplib::Response& res) {
    if (timeline_ == nullptr) {
      reply(res, 409, {{"error", "no scenario timeline"}});
      return;
    }
    json applied = timeline_->advance();
    reply(res, 200, {{"applied", applied}, {"scenario", timeline_->status()}});
  });

  int bound = 0;
  if (port == 0) {
    bound = svr.bind_to_any_port("127.0.0.1");
  } else {
    bound = svr.bind_to_port("127.0.0.1", port) ? port : -1;
  }
  if (bound <= 0) throw std::runtime_error("control endpoint: cannot bind 127.0.0.1:" + std::to_string(port));
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  return bound;
}

void ControlServer::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace isrguard::kafkasim
