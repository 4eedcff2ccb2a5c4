// Project isolation over every route of the identity, compute, image, volume and networking plugins: bob
// (member of beta-proj) tries to see and change what alice's alpha-proj owns. One table row per
// registered route (enumerated from the app's route registry, so a new route without a row fails),
// each row one or more requests with the statuses allowed; every answer must be free of alpha's ids
// and names (except those the request itself carried), GETs are repeated as HEAD, and at the end
// no alpha record has changed and no record written meanwhile refers to anything of alpha's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { conformanceWorld, type World } from "./testing/conformance.ts";

type Expect = number[] | "ok" | "any";
interface Case {
  url: string;
  payload?: unknown;
  headers?: Record<string, string>;
  expect: Expect;
  /** Who asks (default bob). */
  as?: "bob" | "none";
}
type Row = (a: Record<string, string>, b: Record<string, string>) => Case[];

const DENY = [403, 404];
const REJECT = [400, 403, 404, 409];
const I = "/identity/v3";
const C = "/compute/v2.1";
const G = "/image/v2";
const N = "/networking/v2.0";
const mv = (v: string) => ({ "openstack-api-version": `compute ${v}` });

// Keys: "METHOD /route/:param" exactly as registered.
const TABLE: Record<string, Row> = {
  "GET /": () => [{ url: "/", expect: "any" }],
  "GET /openapi.json": () => [{ url: "/openapi.json", expect: "ok" }],
  "GET /identity": () => [{ url: "/identity", expect: "any" }],
  "GET /identity/v3": () => [{ url: I, expect: "any" }],
  "POST /identity/v3/auth/tokens": (a) => [
    { url: `${I}/auth/tokens`, as: "none", payload: { auth: { identity: { methods: ["password"], password: { user: { name: "bob", domain: { id: "default" }, password: "bob-pw" } } }, scope: { project: { id: a.project } } } }, expect: [401, 403] },
    { url: `${I}/auth/tokens`, payload: { auth: { identity: { methods: ["token"], token: { id: "{bob}" } }, scope: { project: { name: "alpha-proj", domain: { id: "default" } } } } }, expect: [401, 403] },
    { url: `${I}/auth/tokens`, as: "none", payload: { auth: { identity: { methods: ["password"], password: { user: { id: a.user, password: "bob-pw" } } } } }, expect: [401] },
  ],
  "GET /identity/v3/auth/tokens": (a) => [{ url: `${I}/auth/tokens`, headers: { "x-subject-token": a.token }, expect: DENY }],
  "DELETE /identity/v3/auth/tokens": (a) => [{ url: `${I}/auth/tokens`, headers: { "x-subject-token": a.token }, expect: DENY }],
  "GET /identity/v3/auth/catalog": () => [{ url: `${I}/auth/catalog`, expect: "ok" }],
  "GET /identity/v3/auth/projects": () => [{ url: `${I}/auth/projects`, expect: "ok" }],
  "GET /identity/v3/auth/domains": () => [{ url: `${I}/auth/domains`, expect: "ok" }],
  "GET /identity/v3/domains": () => [{ url: `${I}/domains`, expect: "any" }],
  "GET /identity/v3/domains/:id": () => [{ url: `${I}/domains/default`, expect: "any" }],
  "POST /identity/v3/projects": (a) => [{ url: `${I}/projects`, payload: { project: { name: "bob-sub", parent_id: a.project } }, expect: DENY }],
  "GET /identity/v3/projects": (a) => [
    { url: `${I}/projects`, expect: "any" },
    { url: `${I}/projects?name=alpha-proj`, expect: "any" },
    { url: `${I}/projects?id=${a.project}`, expect: "any" },
  ],
  "GET /identity/v3/projects/:id": (a) => [{ url: `${I}/projects/${a.project}`, expect: DENY }],
  "PATCH /identity/v3/projects/:id": (a) => [{ url: `${I}/projects/${a.project}`, payload: { project: { enabled: false } }, expect: DENY }],
  "DELETE /identity/v3/projects/:id": (a) => [{ url: `${I}/projects/${a.project}`, expect: DENY }],
  "POST /identity/v3/users": (a) => [{ url: `${I}/users`, payload: { user: { name: "mallory", password: "x", default_project_id: a.project } }, expect: DENY }],
  "GET /identity/v3/users": () => [
    { url: `${I}/users`, expect: "any" },
    { url: `${I}/users?name=alice`, expect: "any" },
  ],
  "GET /identity/v3/users/:id": (a) => [{ url: `${I}/users/${a.user}`, expect: DENY }],
  "PATCH /identity/v3/users/:id": (a) => [{ url: `${I}/users/${a.user}`, payload: { user: { password: "owned" } }, expect: DENY }],
  "DELETE /identity/v3/users/:id": (a) => [{ url: `${I}/users/${a.user}`, expect: DENY }],
  "POST /identity/v3/users/:id/password": (a) => [{ url: `${I}/users/${a.user}/password`, payload: { user: { password: "owned", original_password: "bob-pw" } }, expect: [401, 403, 404] }],
  "GET /identity/v3/users/:id/projects": (a) => [{ url: `${I}/users/${a.user}/projects`, expect: DENY }],
  "GET /identity/v3/users/:id/groups": (a, b) => [{ url: `${I}/users/${a.user}/groups`, expect: DENY }, { url: `${I}/users/${b.user}/groups`, expect: "ok" }],
  "POST /identity/v3/users/:user/application_credentials": (a) => [{ url: `${I}/users/${a.user}/application_credentials`, payload: { application_credential: { name: "bob-cred" } }, expect: DENY }],
  "GET /identity/v3/users/:user/application_credentials": (a, b) => [{ url: `${I}/users/${a.user}/application_credentials`, expect: DENY }, { url: `${I}/users/${b.user}/application_credentials`, expect: "ok" }],
  "GET /identity/v3/users/:user/application_credentials/:id": (a) => [{ url: `${I}/users/${a.user}/application_credentials/x`, expect: DENY }],
  "DELETE /identity/v3/users/:user/application_credentials/:id": (a) => [{ url: `${I}/users/${a.user}/application_credentials/x`, expect: DENY }],
  "POST /identity/v3/groups": () => [{ url: `${I}/groups`, payload: { group: { name: "bob-group" } }, expect: DENY }],
  "GET /identity/v3/groups": () => [{ url: `${I}/groups`, expect: DENY }],
  "GET /identity/v3/groups/:id": () => [{ url: `${I}/groups/g1`, expect: DENY }],
  "PATCH /identity/v3/groups/:id": () => [{ url: `${I}/groups/g1`, payload: { group: { name: "x" } }, expect: DENY }],
  "DELETE /identity/v3/groups/:id": () => [{ url: `${I}/groups/g1`, expect: DENY }],
  "GET /identity/v3/groups/:id/users": () => [{ url: `${I}/groups/g1/users`, expect: DENY }],
  "PUT /identity/v3/groups/:id/users/:user": (_a, b) => [{ url: `${I}/groups/g1/users/${b.user}`, expect: DENY }],
  "GET /identity/v3/groups/:id/users/:user": (a) => [{ url: `${I}/groups/g1/users/${a.user}`, expect: DENY }],
  "DELETE /identity/v3/groups/:id/users/:user": (a) => [{ url: `${I}/groups/g1/users/${a.user}`, expect: DENY }],
  "PUT /identity/v3/projects/:project/groups/:group/roles/:role": (a, b) => [{ url: `${I}/projects/${a.project}/groups/g1/roles/${b.memberRole}`, expect: DENY }],
  "GET /identity/v3/projects/:project/groups/:group/roles/:role": (a, b) => [{ url: `${I}/projects/${a.project}/groups/g1/roles/${b.memberRole}`, expect: DENY }],
  "DELETE /identity/v3/projects/:project/groups/:group/roles/:role": (a, b) => [{ url: `${I}/projects/${a.project}/groups/g1/roles/${b.memberRole}`, expect: DENY }],
  "GET /identity/v3/projects/:project/groups/:group/roles": (a) => [{ url: `${I}/projects/${a.project}/groups/g1/roles`, expect: DENY }],
  "POST /identity/v3/roles": () => [{ url: `${I}/roles`, payload: { role: { name: "bob-admin" } }, expect: DENY }],
  "GET /identity/v3/roles": () => [{ url: `${I}/roles`, expect: "any" }],
  "GET /identity/v3/roles/:id": (_a, b) => [{ url: `${I}/roles/${b.memberRole}`, expect: "any" }],
  "DELETE /identity/v3/roles/:id": (_a, b) => [{ url: `${I}/roles/${b.memberRole}`, expect: DENY }],
  "PUT /identity/v3/projects/:project/users/:user/roles/:role": (a, b) => [
    { url: `${I}/projects/${a.project}/users/${b.user}/roles/${b.memberRole}`, expect: DENY },
    { url: `${I}/projects/${b.project}/users/${a.user}/roles/${b.memberRole}`, expect: DENY },
  ],
  "GET /identity/v3/projects/:project/users/:user/roles/:role": (a, b) => [{ url: `${I}/projects/${a.project}/users/${a.user}/roles/${b.memberRole}`, expect: DENY }],
  "DELETE /identity/v3/projects/:project/users/:user/roles/:role": (a, b) => [{ url: `${I}/projects/${a.project}/users/${a.user}/roles/${b.memberRole}`, expect: DENY }],
  "GET /identity/v3/projects/:project/users/:user/roles": (a) => [{ url: `${I}/projects/${a.project}/users/${a.user}/roles`, expect: DENY }],
  "GET /identity/v3/role_assignments": (a, b) => [
    { url: `${I}/role_assignments`, expect: DENY },
    { url: `${I}/role_assignments?user.id=${a.user}`, expect: DENY },
    { url: `${I}/role_assignments?scope.project.id=${a.project}`, expect: DENY },
    { url: `${I}/role_assignments?user.id=${b.user}&include_names=1&effective=1`, expect: "ok" },
  ],
  "GET /identity/v3/services": () => [{ url: `${I}/services`, expect: "any" }],
  "GET /identity/v3/services/:id": () => [{ url: `${I}/services/compute`, expect: "any" }],
  "GET /identity/v3/endpoints": () => [{ url: `${I}/endpoints`, expect: "any" }],
  "GET /identity/v3/endpoints/:id": () => [{ url: `${I}/endpoints/none`, expect: "any" }],
  "GET /identity/v3/regions": () => [{ url: `${I}/regions`, expect: "any" }],
  "GET /identity/v3/regions/:id": () => [{ url: `${I}/regions/RegionOne`, expect: "any" }],

  "GET /compute": () => [{ url: "/compute", expect: "any" }],
  "GET /compute/v2.1": () => [{ url: C, expect: "any" }],
  "GET /compute/v2.1/flavors": () => [
    { url: `${C}/flavors`, expect: "ok" },
    { url: `${C}/flavors?is_public=None`, expect: "ok" },
    { url: `${C}/flavors?is_public=false`, expect: "ok" },
  ],
  "GET /compute/v2.1/flavors/detail": () => [{ url: `${C}/flavors/detail?is_public=None`, expect: "ok" }],
  "GET /compute/v2.1/flavors/:id": (a) => [{ url: `${C}/flavors/${a.flavor}`, expect: DENY }],
  "POST /compute/v2.1/flavors": (a) => [{ url: `${C}/flavors`, payload: { flavor: { id: a.flavor, name: "x", ram: 1, vcpus: 1, disk: 0 } }, expect: DENY }],
  "PUT /compute/v2.1/flavors/:id": (a) => [{ url: `${C}/flavors/${a.flavor}`, headers: mv("2.55"), payload: { flavor: { description: "owned" } }, expect: DENY }],
  "DELETE /compute/v2.1/flavors/:id": (a) => [{ url: `${C}/flavors/${a.flavor}`, expect: DENY }],
  "GET /compute/v2.1/flavors/:id/os-extra_specs": (a) => [{ url: `${C}/flavors/${a.flavor}/os-extra_specs`, expect: DENY }],
  "POST /compute/v2.1/flavors/:id/os-extra_specs": (a) => [{ url: `${C}/flavors/${a.flavor}/os-extra_specs`, payload: { extra_specs: { x: "1" } }, expect: DENY }],
  "DELETE /compute/v2.1/flavors/:id/os-extra_specs/:key": (a) => [{ url: `${C}/flavors/${a.flavor}/os-extra_specs/alpha-spec`, expect: DENY }],
  "GET /compute/v2.1/flavors/:id/os-flavor-access": (a) => [{ url: `${C}/flavors/${a.flavor}/os-flavor-access`, expect: DENY }],
  "POST /compute/v2.1/flavors/:id/action": (a, b) => [
    { url: `${C}/flavors/${a.flavor}/action`, payload: { addTenantAccess: { tenant: b.project } }, expect: DENY },
    { url: `${C}/flavors/${a.flavor}/action`, payload: { removeTenantAccess: { tenant: a.project } }, expect: DENY },
  ],
  "POST /compute/v2.1/os-keypairs": (a) => [
    { url: `${C}/os-keypairs`, headers: mv("2.10"), payload: { keypair: { name: "alpha-key", user_id: a.user } }, expect: DENY },
    { url: `${C}/os-keypairs`, payload: { keypair: { name: "bob-own-key" } }, expect: "ok" },
  ],
  "GET /compute/v2.1/os-keypairs": (a) => [
    { url: `${C}/os-keypairs`, expect: "ok" },
    { url: `${C}/os-keypairs?user_id=${a.user}`, headers: mv("2.10"), expect: DENY },
  ],
  "GET /compute/v2.1/os-keypairs/:name": (a) => [
    { url: `${C}/os-keypairs/alpha-key`, expect: DENY },
    { url: `${C}/os-keypairs/alpha-key?user_id=${a.user}`, headers: mv("2.10"), expect: DENY },
  ],
  "DELETE /compute/v2.1/os-keypairs/:name": (a) => [
    { url: `${C}/os-keypairs/alpha-key`, expect: DENY },
    { url: `${C}/os-keypairs/alpha-key?user_id=${a.user}`, headers: mv("2.10"), expect: DENY },
  ],
  "GET /compute/v2.1/limits": (a) => [
    { url: `${C}/limits`, expect: "ok" },
    { url: `${C}/limits?tenant_id=${a.project}`, expect: DENY },
  ],
  "GET /compute/v2.1/os-availability-zone": () => [{ url: `${C}/os-availability-zone`, expect: "any" }],
  "GET /compute/v2.1/os-availability-zone/detail": () => [{ url: `${C}/os-availability-zone/detail`, expect: "any" }],
  "POST /compute/v2.1/servers": (a, b) => {
    const boot = (server: Record<string, unknown>): Case => ({ url: `${C}/servers`, headers: mv("2.37"), payload: { server: { name: "bob-vm2", flavorRef: "1", imageRef: b.publicImage, networks: "none", ...server } }, expect: REJECT });
    return [
      boot({ imageRef: a.image }),
      boot({ imageRef: a.sharedImage }),
      boot({ flavorRef: a.flavor }),
      boot({ key_name: "alpha-key" }),
      boot({ networks: [{ uuid: a.network }] }),
      boot({ networks: [{ port: a.port }] }),
      boot({ networks: [{ uuid: b.network }], security_groups: [{ name: "alpha-sg" }] }),
      boot({ networks: [{ uuid: b.network }], security_groups: [{ name: a.secgroup }] }),
      { ...boot({}), payload: { server: { name: "bob-vm3", flavorRef: "1", imageRef: b.publicImage, networks: "none" }, "os:scheduler_hints": { group: a.group } } },
      { ...boot({}), payload: { server: { name: "bob-vm3", flavorRef: "1", imageRef: b.publicImage, networks: "none" }, "os:scheduler_hints": { same_host: a.server } } },
      { ...boot({}), payload: { server: { name: "bob-vm3", flavorRef: "1", imageRef: b.publicImage, networks: "none" }, "os:scheduler_hints": { different_host: [a.server] } } },
      { ...boot({ networks: [{ uuid: b.network }] }), expect: [202] },
    ];
  },
  "GET /compute/v2.1/servers": (a) => [
    { url: `${C}/servers`, expect: "ok" },
    { url: `${C}/servers?all_tenants=1`, expect: "any" },
    { url: `${C}/servers?all_tenants=1&project_id=${a.project}`, expect: "any" },
    { url: `${C}/servers?tenant_id=${a.project}`, expect: "any" },
    { url: `${C}/servers?name=alpha`, expect: "ok" },
  ],
  "GET /compute/v2.1/servers/detail": (a) => [
    { url: `${C}/servers/detail`, expect: "ok" },
    { url: `${C}/servers/detail?all_tenants=true&tenant_id=${a.project}`, expect: "any" },
  ],
  "GET /compute/v2.1/servers/:id": (a) => [{ url: `${C}/servers/${a.server}`, expect: DENY }],
  "PUT /compute/v2.1/servers/:id": (a) => [{ url: `${C}/servers/${a.server}`, payload: { server: { name: "owned" } }, expect: DENY }],
  "DELETE /compute/v2.1/servers/:id": (a) => [{ url: `${C}/servers/${a.server}`, expect: DENY }],
  "POST /compute/v2.1/servers/:id/action": (a, b) => [
    ...[{ "os-stop": null }, { "os-start": null }, { reboot: { type: "HARD" } }, { "os-getConsoleOutput": { length: 10 } }, { addSecurityGroup: { name: "beta-sg" } }, { removeSecurityGroup: { name: "alpha-sg" } }].map((payload) => ({ url: `${C}/servers/${a.server}/action`, payload, expect: DENY })),
    { url: `${C}/servers/${b.server}/action`, payload: { addSecurityGroup: { name: "alpha-sg" } }, expect: REJECT },
    { url: `${C}/servers/${b.server}/action`, payload: { addSecurityGroup: { name: a.secgroup } }, expect: REJECT },
  ],
  "GET /compute/v2.1/servers/:id/os-volume_attachments": (a) => [{ url: `${C}/servers/${a.server}/os-volume_attachments`, expect: DENY }],
  "GET /compute/v2.1/servers/:id/os-volume_attachments/:vol": (a) => [{ url: `${C}/servers/${a.server}/os-volume_attachments/${a.volume}`, expect: DENY }],
  "POST /compute/v2.1/servers/:id/os-volume_attachments": (a, b) => [
    { url: `${C}/servers/${a.server}/os-volume_attachments`, payload: { volumeAttachment: { volumeId: b.volume } }, expect: DENY },
    { url: `${C}/servers/${b.server}/os-volume_attachments`, payload: { volumeAttachment: { volumeId: a.volume } }, expect: REJECT },
  ],
  "DELETE /compute/v2.1/servers/:id/os-volume_attachments/:vol": (a) => [{ url: `${C}/servers/${a.server}/os-volume_attachments/${a.volume}`, expect: DENY }],
  "GET /compute/v2.1/servers/:id/metadata": (a) => [{ url: `${C}/servers/${a.server}/metadata`, expect: DENY }],
  "POST /compute/v2.1/servers/:id/metadata": (a) => [{ url: `${C}/servers/${a.server}/metadata`, payload: { metadata: { x: "1" } }, expect: DENY }],
  "PUT /compute/v2.1/servers/:id/metadata": (a) => [{ url: `${C}/servers/${a.server}/metadata`, payload: { metadata: {} }, expect: DENY }],
  "GET /compute/v2.1/servers/:id/metadata/:key": (a) => [{ url: `${C}/servers/${a.server}/metadata/alpha-meta`, expect: DENY }],
  "PUT /compute/v2.1/servers/:id/metadata/:key": (a) => [{ url: `${C}/servers/${a.server}/metadata/alpha-meta`, payload: { meta: { "alpha-meta": "owned" } }, expect: DENY }],
  "DELETE /compute/v2.1/servers/:id/metadata/:key": (a) => [{ url: `${C}/servers/${a.server}/metadata/alpha-meta`, expect: DENY }],
  "POST /compute/v2.1/os-server-groups": () => [{ url: `${C}/os-server-groups`, payload: { server_group: { name: "bob-group2", policies: ["affinity"] } }, expect: "ok" }],
  "GET /compute/v2.1/os-server-groups": () => [
    { url: `${C}/os-server-groups`, expect: "ok" },
    { url: `${C}/os-server-groups?all_projects=1`, expect: "any" },
  ],
  "GET /compute/v2.1/os-server-groups/:id": (a) => [{ url: `${C}/os-server-groups/${a.group}`, expect: DENY }],
  "DELETE /compute/v2.1/os-server-groups/:id": (a) => [{ url: `${C}/os-server-groups/${a.group}`, expect: DENY }],
  "GET /compute/v2.1/os-hypervisors": () => [{ url: `${C}/os-hypervisors`, expect: DENY }],
  "GET /compute/v2.1/os-hypervisors/detail": () => [{ url: `${C}/os-hypervisors/detail`, expect: DENY }],
  "GET /compute/v2.1/os-hypervisors/statistics": () => [{ url: `${C}/os-hypervisors/statistics`, expect: DENY }],
  "GET /compute/v2.1/os-hypervisors/:id": () => [{ url: `${C}/os-hypervisors/1`, expect: DENY }],
  "GET /compute/v2.1/os-hypervisors/:pattern/search": () => [{ url: `${C}/os-hypervisors/host/search`, expect: DENY }],
  "GET /compute/v2.1/os-hypervisors/:id/uptime": () => [{ url: `${C}/os-hypervisors/1/uptime`, expect: DENY }],
  "GET /compute/v2.1/os-aggregates": () => [{ url: `${C}/os-aggregates`, expect: DENY }],
  "GET /compute/v2.1/os-aggregates/:id": () => [{ url: `${C}/os-aggregates/1`, expect: DENY }],
  "GET /compute/v2.1/os-services": () => [{ url: `${C}/os-services`, expect: DENY }],
  "GET /compute/v2.1/os-security-groups": () => [{ url: `${C}/os-security-groups`, expect: "ok" }],
  "GET /compute/v2.1/os-security-groups/:id": (a) => [{ url: `${C}/os-security-groups/${a.secgroup}`, expect: DENY }],
  "GET /compute/v2.1/os-simple-tenant-usage": () => [{ url: `${C}/os-simple-tenant-usage`, expect: DENY }],
  "POST /compute/v2.1/servers/:id/remote-consoles": (a) => [{ url: `${C}/servers/${a.server}/remote-consoles`, headers: mv("2.6"), payload: { remote_console: { protocol: "vnc", type: "novnc" } }, expect: DENY }],
  "GET /compute/v2.1/servers/:id/os-instance-actions": (a) => [{ url: `${C}/servers/${a.server}/os-instance-actions`, expect: DENY }],
  "GET /compute/v2.1/servers/:id/os-instance-actions/:req": (a) => [{ url: `${C}/servers/${a.server}/os-instance-actions/req-x`, expect: DENY }],
  "GET /compute/v2.1/os-simple-tenant-usage/:project": (a, b) => [
    { url: `${C}/os-simple-tenant-usage/${a.project}`, expect: DENY },
    { url: `${C}/os-simple-tenant-usage/${b.project}`, expect: "ok" },
  ],
  "PUT /compute/v2.1/os-services/:action": () => [
    { url: `${C}/os-services/disable`, payload: { host: "h", binary: "nova-compute" }, expect: DENY },
    { url: `${C}/os-services/some-id`, headers: mv("2.53"), payload: { status: "disabled" }, expect: DENY },
  ],
  "GET /compute/v2.1/os-quota-sets/:p": (a) => [{ url: `${C}/os-quota-sets/${a.project}`, expect: DENY }],
  "GET /compute/v2.1/os-quota-sets/:p/detail": (a) => [{ url: `${C}/os-quota-sets/${a.project}/detail`, expect: DENY }],
  "GET /compute/v2.1/os-quota-sets/:p/defaults": (a) => [{ url: `${C}/os-quota-sets/${a.project}/defaults`, expect: "any" }],
  "PUT /compute/v2.1/os-quota-sets/:p": (a) => [{ url: `${C}/os-quota-sets/${a.project}`, payload: { quota_set: { instances: 0 } }, expect: DENY }],
  "DELETE /compute/v2.1/os-quota-sets/:p": (a) => [{ url: `${C}/os-quota-sets/${a.project}`, expect: DENY }],

  "GET /image": () => [{ url: "/image", expect: "any" }],
  "GET /image/versions": () => [{ url: "/image/versions", expect: "any" }],
  "GET /image/v2/schemas/image": () => [{ url: `${G}/schemas/image`, expect: "ok" }],
  "GET /image/v2/schemas/images": () => [{ url: `${G}/schemas/images`, expect: "ok" }],
  "POST /image/v2/images": (a) => [
    { url: `${G}/images`, payload: { id: a.image, name: "owned", disk_format: "raw", container_format: "bare" }, expect: REJECT },
    { url: `${G}/images`, payload: { name: "bob-own-image", disk_format: "raw", container_format: "bare", owner: a.project }, expect: REJECT },
    { url: `${G}/images`, payload: { name: "bob-image-2", disk_format: "raw", container_format: "bare" }, expect: [201] },
  ],
  "GET /image/v2/images": (a) => [
    ...["", "?visibility=all", "?visibility=private", "?visibility=shared", "?member_status=all", "?visibility=shared&member_status=all", "?name=alpha-image"].map((q) => ({ url: `${G}/images${q}`, expect: "ok" as const })),
    { url: `${G}/images?owner=${a.project}`, expect: "ok" },
  ],
  "GET /image/v2/images/:id": (a) => [
    { url: `${G}/images/${a.image}`, expect: DENY },
    { url: `${G}/images/${a.sharedImage}`, expect: DENY },
  ],
  "PATCH /image/v2/images/:id": (a) => [
    { url: `${G}/images/${a.image}`, headers: { "content-type": "application/openstack-images-v2.1-json-patch" }, payload: [{ op: "replace", path: "/name", value: "owned" }], expect: DENY },
    { url: `${G}/images/${a.sharedImage}`, headers: { "content-type": "application/openstack-images-v2.1-json-patch" }, payload: [{ op: "replace", path: "/visibility", value: "community" }], expect: DENY },
  ],
  "DELETE /image/v2/images/:id": (a) => [{ url: `${G}/images/${a.image}`, expect: DENY }],
  "PUT /image/v2/images/:id/file": (a) => [{ url: `${G}/images/${a.queuedImage}/file`, headers: { "content-type": "application/octet-stream" }, payload: "bob's bits", expect: DENY }],
  "GET /image/v2/images/:id/file": (a) => [{ url: `${G}/images/${a.image}/file`, expect: DENY }],
  "POST /image/v2/images/:id/members": (a, b) => [{ url: `${G}/images/${a.sharedImage}/members`, payload: { member: b.project }, expect: DENY }],
  "GET /image/v2/images/:id/members": (a) => [{ url: `${G}/images/${a.sharedImage}/members`, expect: DENY }],
  "GET /image/v2/images/:id/members/:member": (a, b) => [
    { url: `${G}/images/${a.sharedImage}/members/${a.member}`, expect: DENY },
    { url: `${G}/images/${a.sharedImage}/members/${b.project}`, expect: DENY },
  ],
  "PUT /image/v2/images/:id/members/:member": (a, b) => [
    { url: `${G}/images/${a.sharedImage}/members/${b.project}`, payload: { status: "accepted" }, expect: DENY },
    { url: `${G}/images/${a.sharedImage}/members/${a.member}`, payload: { status: "rejected" }, expect: DENY },
  ],
  "DELETE /image/v2/images/:id/members/:member": (a) => [{ url: `${G}/images/${a.sharedImage}/members/${a.member}`, expect: DENY }],

  "GET /volume": () => [{ url: "/volume", expect: "any" }],
  "GET /volume/v3": () => [{ url: "/volume/v3", expect: "any" }],
  ...cinderRows(),

  "GET /networking": () => [{ url: "/networking", expect: "any" }],
  "GET /networking/v2.0": () => [{ url: N, expect: "any" }],
  "GET /networking/v2.0/extensions": () => [{ url: `${N}/extensions`, expect: "ok" }],
  "GET /networking/v2.0/extensions/:alias": () => [{ url: `${N}/extensions/binding`, expect: "ok" }],
  "GET /networking/v2.0/availability_zones": () => [{ url: `${N}/availability_zones`, expect: "ok" }],
  "GET /networking/v2.0/agents": () => [{ url: `${N}/agents`, expect: DENY }],
  "GET /networking/v2.0/agents/:id": () => [{ url: `${N}/agents/x`, expect: DENY }],
  "GET /networking/v2.0/network-ip-availabilities": () => [{ url: `${N}/network-ip-availabilities`, expect: DENY }],
  "GET /networking/v2.0/network-ip-availabilities/:id": (a) => [{ url: `${N}/network-ip-availabilities/${a.network}`, expect: DENY }],
  "GET /networking/v2.0/quotas": () => [{ url: `${N}/quotas`, expect: DENY }],
  "GET /networking/v2.0/quotas/:project": (a, b) => [{ url: `${N}/quotas/${a.project}`, expect: DENY }, { url: `${N}/quotas/${b.project}`, expect: "ok" }],
  "GET /networking/v2.0/quotas/:project/default": (a) => [{ url: `${N}/quotas/${a.project}/default`, expect: DENY }],
  "GET /networking/v2.0/quotas/:project/details": (a, b) => [{ url: `${N}/quotas/${a.project}/details`, expect: DENY }, { url: `${N}/quotas/${b.project}/details`, expect: "ok" }],
  ...neutronRows(),
};

/** Cinder: every route at /volume/v3/… and /volume/v3/{project_id}/… (bob's own id; alpha's id in the URL → 400). */
function cinderRows(): Record<string, Row> {
  const rows: Record<string, Row> = {};
  const routes: Record<string, (V: string, a: Record<string, string>, b: Record<string, string>) => Case[]> = {
    "GET /volumes": (V, a) => [{ url: `${V}/volumes`, expect: "ok" }, { url: `${V}/volumes?all_tenants=1&project_id=${a.project}`, expect: "ok" }, { url: `${V}/volumes?name=alpha-volume`, expect: "ok" }],
    "GET /volumes/detail": (V, a) => [{ url: `${V}/volumes/detail`, expect: "ok" }, { url: `${V}/volumes/detail?all_tenants=1&project_id=${a.project}`, expect: "ok" }],
    "GET /volumes/summary": (V) => [{ url: `${V}/volumes/summary?all_tenants=1`, expect: "ok" }],
    "POST /volumes": (V, a) => [
      { url: `${V}/volumes`, payload: { volume: { snapshot_id: a.snapshot } }, expect: REJECT },
      { url: `${V}/volumes`, payload: { volume: { imageRef: a.image } }, expect: REJECT },
      { url: `${V}/volumes`, payload: { volume: { size: 1, name: "bob-vol" } }, expect: [202] },
    ],
    "GET /volumes/:id": (V, a) => [{ url: `${V}/volumes/${a.volume}`, expect: DENY }],
    "PUT /volumes/:id": (V, a) => [{ url: `${V}/volumes/${a.volume}`, payload: { volume: { name: "owned" } }, expect: DENY }],
    "DELETE /volumes/:id": (V, a) => [{ url: `${V}/volumes/${a.volume}`, expect: DENY }],
    "POST /volumes/:id/action": (V, a) => [{ url: `${V}/volumes/${a.volume}/action`, payload: { "os-extend": { new_size: 2 } }, expect: DENY }],
    "GET /snapshots": (V) => [{ url: `${V}/snapshots?all_tenants=1`, expect: "ok" }],
    "GET /snapshots/detail": (V) => [{ url: `${V}/snapshots/detail`, expect: "ok" }],
    "POST /snapshots": (V, a) => [{ url: `${V}/snapshots`, payload: { snapshot: { volume_id: a.volume, name: "bob-snap" } }, expect: REJECT }],
    "GET /snapshots/:id": (V, a) => [{ url: `${V}/snapshots/${a.snapshot}`, expect: DENY }],
    "PUT /snapshots/:id": (V, a) => [{ url: `${V}/snapshots/${a.snapshot}`, payload: { snapshot: { name: "owned" } }, expect: DENY }],
    "DELETE /snapshots/:id": (V, a) => [{ url: `${V}/snapshots/${a.snapshot}`, expect: DENY }],
    "GET /types": (V) => [{ url: `${V}/types`, expect: "ok" }],
    "GET /types/default": (V) => [{ url: `${V}/types/default`, expect: "ok" }],
    "GET /types/:id": (V) => [{ url: `${V}/types/__DEFAULT__`, expect: "ok" }],
    "GET /types/:id/extra_specs": (V) => [{ url: `${V}/types/nope/extra_specs`, expect: [404] }],
    "GET /os-availability-zone": (V) => [{ url: `${V}/os-availability-zone`, expect: "ok" }],
    "GET /os-services": (V) => [{ url: `${V}/os-services`, expect: DENY }],
    "GET /extensions": (V) => [{ url: `${V}/extensions`, expect: "ok" }],
    "GET /limits": (V, a) => [{ url: `${V}/limits`, expect: "ok" }, { url: `${V}/limits?project_id=${a.project}`, expect: DENY }],
    "GET /os-quota-sets/:p": (V, a, b) => [{ url: `${V}/os-quota-sets/${a.project}?usage=true`, expect: DENY }, { url: `${V}/os-quota-sets/${b.project}`, expect: "ok" }],
    "GET /os-quota-sets/:p/defaults": (V, a) => [{ url: `${V}/os-quota-sets/${a.project}/defaults`, expect: DENY }],
    "PUT /os-quota-sets/:p": (V, a) => [{ url: `${V}/os-quota-sets/${a.project}`, payload: { quota_set: { volumes: 0 } }, expect: DENY }],
    "DELETE /os-quota-sets/:p": (V, a) => [{ url: `${V}/os-quota-sets/${a.project}`, expect: DENY }],
  };
  for (const [key, cases] of Object.entries(routes)) {
    const [method, path] = key.split(" ") as [string, string];
    rows[`${method} /volume/v3${path}`] = (a, b) => cases("/volume/v3", a, b);
    rows[`${method} /volume/v3/:project_id${path}`] = (a, b) => [
      ...cases(`/volume/v3/${b.project}`, a, b),
      ...cases(`/volume/v3/${a.project}`, a, b).map((c) => ({ ...c, expect: [400] })), // Malformed request url
    ];
  }
  return rows;
}

/** Neutron's five collections follow one pattern. */
function neutronRows(): Record<string, Row> {
  const rows: Record<string, Row> = {};
  const collections: [path: string, key: string, idKey: string, update: boolean][] = [
    ["networks", "network", "network", true],
    ["subnets", "subnet", "subnet", true],
    ["ports", "port", "port", true],
    ["security-groups", "security_group", "secgroup", true],
    ["security-group-rules", "security_group_rule", "rule", false],
  ];
  const creates: Record<string, (a: Record<string, string>, b: Record<string, string>) => Case[]> = {
    networks: (a) => [
      { url: `${N}/networks`, payload: { network: { name: "bob-in-alpha", project_id: a.project } }, expect: REJECT },
      { url: `${N}/networks`, payload: { network: { name: "bob-in-alpha", tenant_id: a.project } }, expect: REJECT },
      { url: `${N}/networks`, payload: { network: { name: "bob-net2" } }, expect: [201] },
    ],
    subnets: (a) => [{ url: `${N}/subnets`, payload: { subnet: { network_id: a.network, cidr: "10.79.0.0/24", ip_version: 4 } }, expect: REJECT }],
    ports: (a, b) => [
      { url: `${N}/ports`, payload: { port: { network_id: a.network } }, expect: REJECT },
      { url: `${N}/ports`, payload: { port: { network_id: b.network, security_groups: [a.secgroup] } }, expect: REJECT },
      { url: `${N}/ports`, payload: { port: { network_id: b.network, fixed_ips: [{ subnet_id: a.subnet }] } }, expect: REJECT },
      { url: `${N}/ports`, payload: { port: { network_id: b.network, device_id: a.server, device_owner: "compute:nova" } }, expect: REJECT },
    ],
    "security-groups": (a) => [{ url: `${N}/security-groups`, payload: { security_group: { name: "bob-in-alpha", project_id: a.project } }, expect: REJECT }],
    "security-group-rules": (a, b) => [
      { url: `${N}/security-group-rules`, payload: { security_group_rule: { security_group_id: a.secgroup, direction: "ingress" } }, expect: REJECT },
      { url: `${N}/security-group-rules`, payload: { security_group_rule: { security_group_id: b.secgroup, direction: "ingress", remote_group_id: a.secgroup } }, expect: REJECT },
    ],
  };
  const updates: Record<string, (b: Record<string, string>) => unknown> = {
    networks: () => ({ network: { name: "owned", shared: true } }),
    subnets: () => ({ subnet: { name: "owned" } }),
    ports: () => ({ port: { name: "owned", device_id: "x" } }),
    "security-groups": () => ({ security_group: { name: "owned" } }),
  };
  for (const [path, , idKey, update] of collections) {
    rows[`POST ${N}/${path}`] = creates[path];
    rows[`GET ${N}/${path}`] = (a) => [
      { url: `${N}/${path}`, expect: "ok" },
      { url: `${N}/${path}?project_id=${a.project}`, expect: "ok" },
      { url: `${N}/${path}?tenant_id=${a.project}&fields=id&fields=name`, expect: "ok" },
      { url: `${N}/${path}?id=${a[idKey]}`, expect: "ok" },
      ...(path === "ports" ? [{ url: `${N}/ports?device_id=${a.server}`, expect: "ok" as const }, { url: `${N}/ports?network_id=${a.network}`, expect: "ok" as const }] : []),
    ];
    rows[`GET ${N}/${path}/:id`] = (a) => [{ url: `${N}/${path}/${a[idKey]}`, expect: DENY }];
    if (update) rows[`PUT ${N}/${path}/:id`] = (a, b) => [{ url: `${N}/${path}/${a[idKey]}`, payload: updates[path](b), expect: DENY }];
    rows[`DELETE ${N}/${path}/:id`] = (a) => [{ url: `${N}/${path}/${a[idKey]}`, expect: DENY }];
  }
  // bob's own port may not be moved onto alpha's security group or subnet.
  const own = rows[`PUT ${N}/ports/:id`];
  rows[`PUT ${N}/ports/:id`] = (a, b) => [
    ...own(a, b),
    { url: `${N}/ports/${b.port}`, payload: { port: { security_groups: [a.secgroup] } }, expect: REJECT },
    { url: `${N}/ports/${b.port}`, payload: { port: { fixed_ips: [{ subnet_id: a.subnet }] } }, expect: REJECT },
  ];
  return rows;
}

/** Every live record as "kind/id" → JSON of its fields. */
function snapshot(w: World): Map<string, string> {
  const out = new Map<string, string>();
  for (const kind of Object.keys(w.g.store.digest().kinds)) for (const r of w.g.store.list(kind)) out.set(`${kind}/${r.id}`, JSON.stringify(r));
  return out;
}

describe("project isolation (bob of beta-proj against alice's alpha-proj, every route)", () => {
  let w: World;
  let before: Map<string, string>;
  let secrets: string[];
  const results: { key: string; method: string; c: Case; status: number; body: string }[] = [];

  beforeAll(async () => {
    w = await conformanceWorld();
    w.b.memberRole = w.g.store.list("role", (r) => r.name === "member")[0].id;
    const alphaNames = ["alpha-proj", "alice", "alpha-flavor", "alpha-key", "alpha-group", "alpha-net", "alpha-subnet", "alpha-port", "alpha-sg", "alpha-image", "alpha-shared-image", "alpha-queued-image", "alpha-vm", "alpha-meta", "alpha-spec", "alpha-volume", "alpha-secret-desc", "10.77.0."];
    secrets = [...Object.values(w.a), ...alphaNames];
    before = snapshot(w);
    for (const r of w.g.app.apiRoutes.operations()) {
      const key = `${r.method} ${r.url}`;
      const row = TABLE[key];
      if (!row) continue;
      for (const c of row(w.a, w.b)) {
        const methods = r.method === "GET" ? ["GET", "HEAD"] : [r.method];
        for (const method of methods) {
          const token = c.as === "none" ? undefined : w.tokens.bob;
          const payload = typeof c.payload === "object" && c.payload !== null ? JSON.parse(JSON.stringify(c.payload).replace("{bob}", w.tokens.bob)) : c.payload;
          const res = await w.g.app.inject({ method: method as "GET", url: c.url, headers: { ...(token ? { "x-auth-token": token } : {}), ...c.headers }, ...(payload !== undefined ? { payload } : {}) });
          results.push({ key, method, c, status: res.statusCode, body: res.body });
        }
      }
    }
  }, 60_000);
  afterAll(async () => {
    await w?.close();
  });

  it("every registered route has a table row, and every row a route", () => {
    const registered = w.g.app.apiRoutes.operations().map((r) => `${r.method} ${r.url}`);
    expect(registered.filter((k) => !TABLE[k])).toEqual([]);
    expect(Object.keys(TABLE).filter((k) => !registered.includes(k))).toEqual([]);
    expect(registered.length).toBeGreaterThan(120);
  });

  it("each request gets an allowed status", () => {
    const wrong = results.filter(({ c, status }) => (c.expect === "ok" ? status >= 300 : c.expect === "any" ? status >= 500 : !c.expect.includes(status)));
    expect(wrong.map(({ key, method, c, status, body }) => `${method} ${c.url} ${JSON.stringify(c.payload ?? "").slice(0, 300)} (${key}): ${status} ${body.slice(0, 200)} — expected ${JSON.stringify(c.expect)}`)).toEqual([]);
    expect(results.length).toBeGreaterThan(250);
  });

  it("no answer names anything of alpha's that the request did not", () => {
    const leaks = results.flatMap(({ method, c, status, body }) => {
      const asked = `${c.url} ${JSON.stringify(c.payload ?? "")} ${JSON.stringify(c.headers ?? {})}`;
      return secrets.filter((s) => !asked.includes(s) && body.includes(s)).map((s) => `${method} ${c.url} → ${status} shows ${s}: ${body.slice(0, 300)}`);
    });
    expect(leaks).toEqual([]);
  });

  it("no alpha record changed, no record written by bob refers to alpha", async () => {
    const after = snapshot(w);
    const alphaIds = Object.values(w.a);
    const changed: string[] = [];
    for (const [k, v] of before) {
      const isAlpha = alphaIds.some((id) => v.includes(id));
      if (isAlpha && after.get(k) !== v) changed.push(`${k}: ${v} → ${after.get(k) ?? "deleted"}`);
    }
    for (const [k, v] of after) {
      if (before.get(k) === v || k.startsWith("token_revocation/")) continue;
      const refs = alphaIds.filter((id) => v.includes(id));
      if (refs.length) changed.push(`${k} written, refers to ${refs.join(", ")}: ${v}`);
    }
    expect(changed).toEqual([]);
    // alice's token still works and she still sees her server.
    const res = await w.req("GET", `/compute/v2.1/servers/${w.a.server}`, w.tokens.alice);
    expect(res.statusCode).toBe(200);
  });
});
