// A minimal portico.v1 client for the system tests (tests/system/test_api.sh), so that they
// need neither porticoctl nor Python gRPC packages.
//
//   api_client ADDRESS [--tls CA CERT KEY | --tls-no-cert CA] COMMAND...
//     apply FILE [--dry-run]     prints created/configured/unchanged and the generation
//     delete KIND NAMESPACE NAME
//     get KIND NAMESPACE NAME    prints source and JSON
//     list [KIND]
//     stats                      prints generation and the totals, one "name value" a line
//     drain-backend ADDR [undo]
// ADDRESS: unix:/path or host:port. On a gRPC error prints "error CODE: message" and exits 1.
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "portico.grpc.pb.h"

namespace pb = portico::v1;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* code_name(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    default:
      return "OTHER";
  }
}

int fail(const grpc::Status& st) {
  std::cout << "error " << code_name(st.error_code()) << ": " << st.error_message() << "\n";
  return 1;
}

void print_refs(const char* what, const google::protobuf::RepeatedPtrField<pb::ObjectRef>& refs) {
  for (const auto& r : refs) {
    std::cout << what << " " << r.kind() << "/"
              << (r.namespace_().empty() ? "" : r.namespace_() + "/") << r.name() << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() < 2) {
    std::cerr << "usage: api_client ADDRESS [--tls CA CERT KEY | --tls-no-cert CA] COMMAND...\n";
    return 2;
  }
  const std::string address = a[0];
  a.erase(a.begin());
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (a[0] == "--tls" && a.size() >= 5) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = read(a[1]);
    o.pem_cert_chain = read(a[2]);
    o.pem_private_key = read(a[3]);
    creds = grpc::SslCredentials(o);
    a.erase(a.begin(), a.begin() + 4);
  } else if (a[0] == "--tls-no-cert" && a.size() >= 3) {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = read(a[1]);
    creds = grpc::SslCredentials(o);
    a.erase(a.begin(), a.begin() + 2);
  }
  auto stub = pb::Portico::NewStub(grpc::CreateChannel(address, creds));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(15));
  const std::string& cmd = a[0];
  if (cmd == "apply" && a.size() >= 2) {
    pb::ApplyRequest req;
    req.set_documents(read(a[1]));
    req.set_dry_run(a.size() > 2 && a[2] == "--dry-run");
    pb::ApplyResponse resp;
    const auto st = stub->Apply(&ctx, req, &resp);
    if (!st.ok()) return fail(st);
    print_refs("created", resp.created());
    print_refs("configured", resp.configured());
    print_refs("unchanged", resp.unchanged());
    for (const auto& w : resp.warnings()) std::cout << "warning " << w << "\n";
    std::cout << "generation " << resp.generation() << "\n";
    return 0;
  }
  if ((cmd == "delete" || cmd == "get") && a.size() == 4) {
    pb::ObjectRef ref;
    ref.set_kind(a[1]);
    ref.set_namespace_(a[2]);
    ref.set_name(a[3]);
    if (cmd == "delete") {
      pb::DeleteRequest req;
      *req.mutable_ref() = ref;
      pb::DeleteResponse resp;
      const auto st = stub->Delete(&ctx, req, &resp);
      if (!st.ok()) return fail(st);
      std::cout << "generation " << resp.generation() << "\n";
      return 0;
    }
    pb::GetRequest req;
    *req.mutable_ref() = ref;
    pb::Object resp;
    const auto st = stub->Get(&ctx, req, &resp);
    if (!st.ok()) return fail(st);
    std::cout << "source " << resp.source() << "\n" << resp.json() << "\n";
    return 0;
  }
  if (cmd == "list") {
    pb::ListRequest req;
    if (a.size() > 1) req.set_kind(a[1]);
    pb::ListResponse resp;
    const auto st = stub->List(&ctx, req, &resp);
    if (!st.ok()) return fail(st);
    for (const auto& o : resp.objects()) {
      std::cout << o.ref().kind() << " " << o.ref().namespace_() << " " << o.ref().name() << " "
                << o.source() << "\n";
    }
    return 0;
  }
  if (cmd == "stats") {
    pb::Stats resp;
    const auto st = stub->GetStats(&ctx, pb::StatsRequest(), &resp);
    if (!st.ok()) return fail(st);
    std::cout << "generation " << resp.generation() << "\n";
    for (const auto& c : resp.totals()) std::cout << c.name() << " " << c.value() << "\n";
    return 0;
  }
  if (cmd == "drain-backend" && a.size() >= 2) {
    pb::DrainRequest req;
    req.set_backend(a[1]);
    req.set_undo(a.size() > 2 && a[2] == "undo");
    pb::DrainResponse resp;
    const auto st = stub->Drain(&ctx, req, &resp);
    if (!st.ok()) return fail(st);
    for (const auto& s : resp.affected()) std::cout << "affected " << s << "\n";
    std::cout << "generation " << resp.generation() << "\n";
    return 0;
  }
  std::cerr << "api_client: unknown command or wrong arguments: " << cmd << "\n";
  return 2;
}
