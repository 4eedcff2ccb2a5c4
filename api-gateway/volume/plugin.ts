// Block Storage (Cinder v3) under /volume: version discovery, then every route both at /v3/… (the
// catalog publishes /volume/v3, so the CLI calls /volume/v3/volumes) and at /v3/{project_id}/… (a URL
// project other than the token's → 400 "Malformed request url", as in Cinder). Cinder error bodies.
import { useErrorStyle } from "../error-bodies.ts";
import type { ServicePlugin } from "../service-stubs.ts";
import { volumeVersion } from "../versions.ts";
import { useVolumeMicroversions, type VolumeBackend } from "./common.ts";
import { snapshotRoutes } from "./snapshots.ts";
import { typeRoutes } from "./types.ts";
import { volumeRoutes } from "./volumes.ts";

export type { VolumeBackend } from "./common.ts";

export function volumeService(backend: VolumeBackend = {}): ServicePlugin {
  return async (app, { ctx }) => {
    useErrorStyle(app, "cinder", (req) => `${ctx.baseUrl(req)}/identity`);
    app.get("/", { config: { public: true } }, async (req, reply) => {
      reply.code(300);
      return { versions: [volumeVersion(ctx.baseUrl(req))] };
    });
    await app.register(
      async (v3) => {
        useVolumeMicroversions(v3);
        v3.get("/", { config: { public: true } }, async (req) => ({ versions: [volumeVersion(ctx.baseUrl(req))] }));
        for (const prefix of ["", "/:project_id"]) {
          await v3.register(
            async (r) => {
              await r.register(volumeRoutes, { ctx, backend });
              await r.register(snapshotRoutes, { ctx, backend });
              await r.register(typeRoutes, { ctx, backend });
            },
            { prefix },
          );
        }
      },
      { prefix: "/v3" },
    );
  };
}
