// Fuzzing every route of the identity, compute, image, volume and networking plugins (fast-check): requests
// generated from the route registry (method, path and its parameters) with ids of real records and
// hostile strings as parameters, query strings over the filters the services read, and bodies that
// are random JSON or shaped like the services' bodies with random values. No answer may be >= 500,
// and every 4xx must carry a JSON error body in one of OpenStack's shapes. Values include huge numbers
// (1e300, 2^53, -1e300), deep nesting and unicode; a 2xx GET as alice (project alpha) must not show any
// of beta's servers, volumes, snapshots, ports, server groups, security groups or rules (0 cross-project
// reads). The number of requests sent is printed.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pathParams, type ApiRoute } from "./openapi.ts";
import { conformanceWorld, type World } from "./testing/conformance.ts";

const SEED = Number(process.env.PSAPI_FUZZ_SEED ?? 20261201);
const RUNS = Number(process.env.PSAPI_FUZZ_RUNS ?? 400);
const PER_ROUTE = Number(process.env.PSAPI_FUZZ_PER_ROUTE ?? 25);

const HOSTILE = ["", " ", "..", "%2F", "%00", "%25", "null", "undefined", "-1", "0", "1e309", "NaN", "true", "[]", "{}", "a".repeat(300), "😀", "%E2%82", "__proto__", "constructor", "toString", "default", "1"];
const QUERY_KEYS = ["limit", "marker", "name", "status", "all_tenants", "all_projects", "project_id", "tenant_id", "fields", "sort_key", "sort_dir", "visibility", "member_status", "owner", "is_public", "minRam", "minDisk", "user_id", "user.id", "scope.project.id", "role.id", "include_names", "effective", "enabled", "domain_id", "network_id", "device_id", "fixed_ips", "id", "shared", "flavor", "image", "host", "changes-since", "tag", "os_hidden", "disk_format", "nocatalog", "length", "type", "detailed"];
const RESOURCE_KEYS = ["volume", "snapshot", "os-extend", "os-reset_status", "os-force_delete", "server", "flavor", "keypair", "server_group", "network", "subnet", "port", "security_group", "security_group_rule", "project", "user", "role", "auth", "quota_set", "metadata", "meta", "volumeAttachment", "extra_specs", "os-stop", "os-start", "reboot", "os-getConsoleOutput", "addSecurityGroup", "removeSecurityGroup", "addTenantAccess", "removeTenantAccess", "identity", "scope"];
const FIELDS = ["size", "volume_id", "snapshot_id", "source_volid", "volume_type", "new_size", "force", "name", "id", "flavorRef", "imageRef", "networks", "uuid", "port", "fixed_ip", "key_name", "security_groups", "metadata", "user_data", "min_count", "max_count", "availability_zone", "ram", "vcpus", "disk", "swap", "OS-FLV-EXT-DATA:ephemeral", "os-flavor-access:is_public", "rxtx_factor", "policies", "policy", "rules", "network_id", "cidr", "ip_version", "allocation_pools", "start", "end", "gateway_ip", "enable_dhcp", "dns_nameservers", "host_routes", "fixed_ips", "subnet_id", "ip_address", "device_id", "device_owner", "mac_address", "binding:host_id", "security_group_id", "direction", "protocol", "port_range_min", "port_range_max", "remote_ip_prefix", "remote_group_id", "ethertype", "password", "original_password", "domain_id", "enabled", "default_project_id", "description", "parent_id", "public_key", "type", "user_id", "volumeId", "device", "tenant", "status", "member", "visibility", "disk_format", "container_format", "tags", "min_ram", "min_disk", "protected", "instances", "cores", "key_pairs", "shared", "admin_state_up", "mtu", "length", "methods", "token", "domain", "email", "allowed_address_pairs", "port_security_enabled", "provider:network_type", "provider:segmentation_id", "os_hidden", "kernel_id"];

// Values that pass the first validation step of some field, so requests get further in.
const PLAUSIBLE = ["10.99.0.0/24", "10.88.0.50", "10.77.0.9", "0.0.0.0/0", "::/0", "ingress", "egress", "tcp", "udp", "icmp", "IPv4", "IPv6", "anti-affinity", "affinity", "soft-affinity", "qcow2", "raw", "bare", "aki", "public", "private", "shared", "community", "HARD", "SOFT", "accepted", "rejected", "pending", "ssh-rsa AAAAB3NzaC1yc2E= x", "fa:16:3e:00:00:01", "password", "token", "auto", "none", "nova", "m1.tiny", "compute:nova"];

/** The body key a route's service expects: /servers → server, /os-server-groups → server_group … */
function resourceKey(url: string): string[] {
  const last = url.split("/").filter((x) => x && !x.startsWith(":")).pop() ?? "";
  const special: Record<string, string[]> = {
    tokens: ["auth"],
    action: ["os-stop", "os-start", "reboot", "os-getConsoleOutput", "addSecurityGroup", "removeSecurityGroup", "addTenantAccess", "removeTenantAccess"],
    "os-volume_attachments": ["volumeAttachment"],
    "os-extra_specs": ["extra_specs"],
    metadata: ["metadata", "meta"],
    "os-quota-sets": ["quota_set"],
    password: ["user"],
  };
  if (special[last]) return special[last];
  return [last.replace(/^os-/, "").replace(/-/g, "_").replace(/s$/, "")];
}

describe("fuzzing the API from its route registry (0 responses >= 500)", () => {
  let w: World;
  let ids: string[];
  const failures: string[] = [];

  let templates: Record<string, Record<string, unknown>[]>;

  beforeAll(async () => {
    w = await conformanceWorld();
    const { b } = w;
    // Valid bodies per route ("" = the fields are the body itself, as in Glance).
    templates = {
      "POST /compute/v2.1/servers": [{ server: { name: "f", flavorRef: "1", imageRef: b.publicImage, networks: [{ uuid: b.network }], key_name: "beta-key", security_groups: [{ name: "default" }], metadata: { a: "b" }, min_count: 1 } }],
      "POST /compute/v2.1/flavors": [{ flavor: { name: "f", ram: 64, vcpus: 1, disk: 0, id: "auto" } }],
      "POST /compute/v2.1/os-keypairs": [{ keypair: { name: "k", type: "ssh" } }],
      "POST /compute/v2.1/os-server-groups": [{ server_group: { name: "g", policies: ["affinity"] } }, { server_group: { name: "g", policy: "anti-affinity", rules: { max_server_per_host: 2 } } }],
      "POST /compute/v2.1/servers/:id/action": [{ reboot: { type: "HARD" } }, { "os-getConsoleOutput": { length: 5 } }, { addSecurityGroup: { name: "default" } }, { addTenantAccess: { tenant: b.project } }],
      "POST /compute/v2.1/flavors/:id/action": [{ addTenantAccess: { tenant: b.project } }, { removeTenantAccess: { tenant: b.project } }],
      "POST /compute/v2.1/servers/:id/os-volume_attachments": [{ volumeAttachment: { volumeId: b.volume, device: "/dev/vdc" } }],
      "POST /compute/v2.1/servers/:id/metadata": [{ metadata: { k: "v" } }],
      "PUT /compute/v2.1/servers/:id/metadata/:key": [{ meta: { k: "v" } }],
      "PUT /compute/v2.1/servers/:id": [{ server: { name: "n", description: "d" } }],
      "PUT /compute/v2.1/os-quota-sets/:p": [{ quota_set: { instances: 5, cores: 10, force: true } }],
      "POST /compute/v2.1/flavors/:id/os-extra_specs": [{ extra_specs: { "hw:cpu_policy": "shared" } }],
      "POST /volume/v3/volumes": [{ volume: { size: 1, name: "v", description: "d", metadata: { k: "v" } } }, { volume: { imageRef: b.publicImage } }],
      "POST /volume/v3/:project_id/volumes": [{ volume: { size: 2, availability_zone: "nova", volume_type: "__DEFAULT__" } }],
      "POST /volume/v3/snapshots": [{ snapshot: { volume_id: b.volume, name: "s", force: true } }],
      "PUT /volume/v3/volumes/:id": [{ volume: { name: "n", metadata: {} } }],
      "POST /volume/v3/volumes/:id/action": [{ "os-extend": { new_size: 3 } }, { "os-reset_status": { status: "available" } }],
      "PUT /volume/v3/os-quota-sets/:p": [{ quota_set: { volumes: 20, gigabytes: 100, snapshots: 5 } }],
      "POST /networking/v2.0/networks": [{ network: { name: "n", admin_state_up: true, mtu: 1400 } }],
      "POST /networking/v2.0/subnets": [{ subnet: { network_id: b.network, cidr: "10.99.0.0/24", ip_version: 4, allocation_pools: [{ start: "10.99.0.10", end: "10.99.0.20" }], gateway_ip: "10.99.0.1", dns_nameservers: ["10.0.0.2"] } }],
      "POST /networking/v2.0/ports": [{ port: { network_id: b.network, fixed_ips: [{ subnet_id: b.subnet, ip_address: "10.88.0.50" }], security_groups: [b.secgroup], allowed_address_pairs: [{ ip_address: "10.88.0.60" }] } }],
      "PUT /networking/v2.0/ports/:id": [{ port: { name: "p", fixed_ips: [{ subnet_id: b.subnet }], "binding:host_id": "h" } }],
      "PUT /networking/v2.0/subnets/:id": [{ subnet: { name: "s", gateway_ip: "10.88.0.1", enable_dhcp: false } }],
      "POST /networking/v2.0/security-groups": [{ security_group: { name: "s", description: "d" } }],
      "POST /networking/v2.0/security-group-rules": [{ security_group_rule: { security_group_id: b.secgroup, direction: "ingress", protocol: "tcp", port_range_min: 80, port_range_max: 81, remote_ip_prefix: "10.0.0.0/8", ethertype: "IPv4" } }],
      "POST /image/v2/images": [{ "": { name: "i", disk_format: "raw", container_format: "bare", visibility: "private", tags: ["a"], min_ram: 0, protected: false, custom: "x" } }],
      "POST /image/v2/images/:id/members": [{ "": { member: b.project } }],
      "PUT /image/v2/images/:id/members/:member": [{ "": { status: "accepted" } }],
      "POST /identity/v3/projects": [{ project: { name: "p", domain_id: "default", description: "d", enabled: true, tags: ["t"] } }],
      "PATCH /identity/v3/projects/:id": [{ project: { name: "p2", enabled: true } }],
      "POST /identity/v3/users": [{ user: { name: "u", password: "pw", domain_id: "default", enabled: true, email: "a@b" } }],
      "PATCH /identity/v3/users/:id": [{ user: { description: "d" } }],
      "POST /identity/v3/users/:id/password": [{ user: { password: "n", original_password: "bob-pw" } }],
      "POST /identity/v3/roles": [{ role: { name: "r" } }],
      "POST /identity/v3/auth/tokens": [{ auth: { identity: { methods: ["password"], password: { user: { name: "bob", domain: { id: "default" }, password: "bob-pw" } } }, scope: { project: { name: "beta-proj", domain: { id: "default" } } } } }],
    };
    // Not the admin's own project/user/roles: a fuzzed DELETE of those would end the run's admin session.
    ids = [...Object.values(w.a), ...Object.values(w.b)].filter((v) => !v.startsWith("eyJ"));
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  function arbitraries(routes: ApiRoute[]) {
    const param = fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...ids) },
      { weight: 2, arbitrary: fc.constantFrom(...HOSTILE).map(encodeURIComponent) },
      { weight: 1, arbitrary: fc.constantFrom(...HOSTILE) },
      { weight: 1, arbitrary: fc.string({ maxLength: 40 }).map(encodeURIComponent) },
    );
    const huge = fc.constantFrom(1e300, -1e300, 2 ** 53, 2 ** 31, -(2 ** 31) - 1, Number.MAX_VALUE, 5e-324, 1e21);
    const unicode = fc.constantFrom("😀", "\u202e", "\u0000x", "\u001b[2J", "\ud800", "名前", "e\u0301", "\ufeff");
    const scalar = fc.oneof(fc.constantFrom(...ids), fc.constantFrom(...PLAUSIBLE), fc.constantFrom(...HOSTILE), fc.string({ maxLength: 20 }), fc.string({ unit: "grapheme", maxLength: 8 }), unicode, fc.integer({ min: -5, max: 70000 }), huge, fc.double(), fc.boolean(), fc.constant(null));
    // 200 levels of {"a": [...]}: nesting no handler expects.
    const deep = fc.constantFrom(JSON.parse(`${'{"a":['.repeat(200)}1${"]}".repeat(200)}`));
    const value = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: deep }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: fc.array(fc.oneof(scalar, fc.dictionary(fc.constantFrom(...FIELDS), scalar, { maxKeys: 3 })), { maxLength: 3 }) });
    const fields = fc.dictionary(fc.constantFrom(...FIELDS), value, { maxKeys: 6 });
    const own = (r: ApiRoute) => fc.constantFrom(...resourceKey(r.url));
    // A valid body with one to three fields replaced, removed or added.
    const nearValid = (t: Record<string, unknown>) =>
      fc.array(fc.tuple(fc.constantFrom(...Object.keys(Object.values(t)[0] as object), ...FIELDS), fc.option(value, { nil: undefined })), { minLength: 1, maxLength: 3 }).map((edits) => {
        const [key, inner] = Object.entries(structuredClone(t))[0] as [string, Record<string, unknown>];
        for (const [f, v] of edits) {
          if (v === undefined) delete inner[f];
          else inner[f] = v;
        }
        return key === "" ? inner : { [key]: inner };
      });
    const body = (r: ApiRoute) => fc.oneof(
      ...(templates[`${r.method} ${r.url}`] ? [{ weight: 12, arbitrary: fc.constantFrom(...templates[`${r.method} ${r.url}`]).chain(nearValid) }] : []),
      { weight: 5, arbitrary: fc.tuple(own(r), fields).map(([k, f]) => ({ [k]: f })) },
      { weight: 1, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
      { weight: 4, arbitrary: fc.dictionary(fc.constantFrom(...RESOURCE_KEYS), fc.oneof(fields, value), { minKeys: 1, maxKeys: 2 }) },
      { weight: 2, arbitrary: fields },
      { weight: 1, arbitrary: fc.array(fc.record({ op: fc.constantFrom("add", "replace", "remove", "move", "x"), path: fc.constantFrom("/name", "/tags/-", "/tags/a", "/visibility", "/status", "/x/y", "/", "name", "/min_ram"), value }, { requiredKeys: ["op"] }), { maxLength: 3 }) },
      { weight: 1, arbitrary: fc.constantFrom("{", "[1,", "\"", "nul", "{\"server\":", "\u0000") },
    );
    const query = fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), fc.oneof(fc.constantFrom(...ids), fc.constantFrom(...HOSTILE), fc.string({ maxLength: 10 }))), { maxLength: 4 });
    const who = fc.oneof({ weight: 6, arbitrary: fc.constantFrom("admin", "alice", "bob") }, { weight: 1, arbitrary: fc.constantFrom("none", "garbage") });
    const headers = fc.record(
      {
        "openstack-api-version": fc.constantFrom("compute 2.1", "compute 2.37", "compute 2.79", "compute latest", "compute 3.0", "compute 2.x", "volume 3.0", "garbage"),
        "content-type": fc.constantFrom("application/json", "application/json", "application/json", "application/json", "application/octet-stream", "application/openstack-images-v2.1-json-patch", "text/plain", "application/x-www-form-urlencoded"),
        "x-subject-token": fc.constantFrom("garbage", "eyJhbGciOiJFZERTQSJ9.e30.AA"),
      },
      { requiredKeys: [] },
    );
    const templated = routes.filter((r) => templates[`${r.method} ${r.url}`]);
    const route = templated.length ? fc.oneof(fc.constantFrom(...routes), fc.constantFrom(...templated)) : fc.constantFrom(...routes);
    return route.chain((route) => fc.record({ route: fc.constant(route), params: fc.array(param, { minLength: 4, maxLength: 4 }), query, body: body(route), who, headers }));
  }

  const ERROR_SHAPES = (j: any): boolean =>
    (typeof j === "object" && j !== null && !Array.isArray(j) && typeof j.error?.code === "number") ||
    typeof j?.NeutronError?.message === "string" ||
    (typeof j?.code === "string" && typeof j?.message === "string") ||
    (typeof j === "object" && j !== null && Object.keys(j).length === 1 && typeof (Object.values(j)[0] as any)?.code === "number" && typeof (Object.values(j)[0] as any)?.message === "string");

  let sent = 0;
  let crossReads = 0;
  afterAll(() => console.log(`fuzz: ${sent} requests sent, ${failures.length} answered >= 500, ${crossReads} cross-project reads`));

  /** Beta's ids that alpha can never be granted by a fuzzed request (admin may share networks and images). */
  const betaPrivate = () => ["server", "volume", "snapshot", "port", "group", "secgroup", "rule"].map((k) => w.b[k]).filter((v): v is string => typeof v === "string" && v.length > 8);
  const alphaMayRead = () => w.g.app.gateway.identity.grantedRoles(w.a.user, w.b.project).length > 0;

  for (const service of ["/identity", "/compute", "/image", "/volume", "/networking"]) {
    it(`${service}: ${RUNS} generated requests + ${PER_ROUTE} per route, none >= 500, every 4xx in an OpenStack error body`, async () => {
      const routes = w.g.app.apiRoutes.operations().filter((r) => r.url.startsWith(service));
      expect(routes.length).toBeGreaterThan(5);
      const statuses = new Map<number, number>();
      type Generated = typeof arbitraries extends (r: ApiRoute[]) => fc.Arbitrary<infer T> ? T : never;
      const probe = async (x: Generated) => {
          const names = pathParams(x.route.url);
          let url = x.route.url;
          names.forEach((n, i) => (url = url.replace(`:${n}`, x.params[i] ?? "x")));
          const qs = x.query.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
          if (qs) url += `?${qs}`;
          const token = x.who === "none" ? undefined : x.who === "garbage" ? "not-a-token" : w.tokens[x.who as "admin"];
          const hasBody = x.body !== undefined && x.route.method !== "GET" && x.route.method !== "HEAD" && x.route.method !== "DELETE";
          const payload = typeof x.body === "string" ? x.body : JSON.stringify(x.body);
          const res = await w.g.app.inject({
            method: x.route.method as "GET",
            url,
            headers: { ...(token ? { "x-auth-token": token } : {}), ...(hasBody ? { "content-type": "application/json" } : {}), ...x.headers },
            ...(hasBody ? { payload } : {}),
          });
          sent++;
          statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
          // An id echoed from the request's own URL is not a read.
          if (x.who === "alice" && x.route.method === "GET" && res.statusCode < 300 && !alphaMayRead()) {
            const leaked = betaPrivate().filter((id) => res.body.includes(id) && !url.includes(id));
            if (leaked.length > 0) crossReads++;
            expect(leaked, `cross-project read: GET ${url} as alice → ${res.body.slice(0, 300)}`).toEqual([]);
          }
          const what = `${x.route.method} ${url} as ${x.who} headers ${JSON.stringify(x.headers)} body ${hasBody ? payload.slice(0, 300) : "-"} → ${res.statusCode} ${res.body.slice(0, 300)}`;
          if (res.statusCode >= 500) failures.push(what);
          expect(res.statusCode, what).toBeLessThan(500);
          if (res.statusCode >= 400 && x.route.method !== "HEAD") {
            let j: unknown;
            try {
              j = JSON.parse(res.body);
            } catch {
              j = undefined;
            }
            expect(ERROR_SHAPES(j), `error body of ${what}`).toBe(true);
          }
      };
      await fc.assert(fc.asyncProperty(arbitraries(routes), probe), { numRuns: RUNS, seed: SEED + service.length, endOnFailure: true });
      // Then every route on its own, so a rarely drawn route still gets PER_ROUTE requests.
      for (const [i, r] of routes.entries()) await fc.assert(fc.asyncProperty(arbitraries([r]), probe), { numRuns: PER_ROUTE, seed: SEED + i, endOnFailure: true });
      // The generator reaches past validation: some requests succeed, many are refused.
      console.log(service, JSON.stringify([...statuses].sort((p, q) => p[0] - q[0])));
      const ok = [...statuses].filter(([s]) => s < 400).reduce((n, [, c]) => n + c, 0);
      expect(ok, JSON.stringify([...statuses])).toBeGreaterThan(RUNS / 20);
    }, 120_000);
  }
});
