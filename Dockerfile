# The gateway's image: the API, the call hosts and the SIP edge, one image, three commands.
# Not built by the test suite (no Docker engine in CI); it runs the same build that
# `npm run build` makes on a machine.
#   node dist/src/http/main.js     the API (the default command)
#   node dist/src/agent/main.js    the call hosts (espeak-ng for prompts, ffmpeg for recordings)
#   node dist/src/edge/main.js     the SIP edge: renders deploy/kamailio/edge.cfg, runs kamailio
#   docker build -t voice-gateway .
#   docker run --env-file .env -p 127.0.0.1:8080:8080 voice-gateway
# docker-compose.yml and deploy/helm/voice-gateway run it (docs/deploy.md).

# ---------------------------------------------------------------------------------------------
# Build: all dependencies (TypeScript, Prisma's CLI), then tsc into dist/.
FROM node:20-bookworm-slim AS build
WORKDIR /app
# Should a dependency pull in onnxruntime-node (LiveKit agents' voice-activity plugins do), its
# install script would download GPU binaries; the API needs none of them.
ENV ONNXRUNTIME_NODE_INSTALL=skip
# Dependencies first, so this layer is reused until package*.json or the schema change.
# postinstall runs `npm run db:generate` (prisma generate, which needs prisma.config.ts and
# prisma/schema.prisma): it writes the Kysely types into src/db/generated.
COPY package.json package-lock.json prisma.config.ts ./
COPY prisma ./prisma
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
# The operator console's sources: `npm run build` bundles them (vite) into dist/console.
COPY console ./console
# Generate again after copying src/, so a stale src/db/generated in the build context cannot
# replace the one made from this schema; then tsc -p tsconfig.build.json emits dist/src (the
# generated types included, as dist/src/db/generated) and dist/scripts, then vite dist/console.
RUN npm run db:generate && npm run build

# ---------------------------------------------------------------------------------------------
# Runtime: production dependencies, the compiled code, the migrations and the browser page.
FROM node:20-bookworm-slim AS runtime
WORKDIR /app
# API_HOST=0.0.0.0 so a published port or a Kubernetes Service reaches it; docker-compose.yml,
# which uses host networking, sets 127.0.0.1 instead. GATEWAY_DATA_DIR holds what the gateway
# generates when it is not configured (call-webhook secret; the embedded database and its
# encryption key when DATABASE_URL is unset): mount a volume there.
ENV NODE_ENV=production \
    API_HOST=0.0.0.0 \
    API_PORT=8080 \
    GATEWAY_DATA_DIR=/data
# espeak-ng speaks the offline agent's prompts, ffmpeg encodes call recordings, kamailio is the
# SIP edge (its modules, dispatcher included, are in the kamailio package).
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng ffmpeg kamailio \
    && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# --ignore-scripts: postinstall would run `prisma generate`, and `prisma` is a devDependency
# that is not installed here. The generated types are already compiled into dist/.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
# Migrations are read at runtime from <package root>/prisma/migrations and applied on every
# start; the package root is the first folder above the compiled file holding package.json and
# prisma/ (here /app). web/ is the browser client served at /web/.
COPY --from=build /app/prisma ./prisma
COPY web ./web
# The edge's config template and the offline agent's default profile.
COPY deploy/kamailio ./deploy/kamailio
COPY deploy/agent-offline.yaml ./deploy/agent-offline.yaml
# Everything above stays owned by root and read-only to the process; only /data and /recordings
# (volumes) are writable.
RUN mkdir -p /data /recordings && chown node:node /data /recordings
USER node
EXPOSE 8080
# /health answers while the process runs (/ready also checks the database and LiveKit; use it
# for load balancers, not for restarts). Follows API_HOST/API_PORT if they are overridden.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "const h=process.env.API_HOST||'';const host=['','0.0.0.0','::'].includes(h)?'127.0.0.1':h.includes(':')?'['+h+']':h;fetch('http://'+host+':'+(process.env.API_PORT||8080)+'/health',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# The API handles SIGTERM itself (closes the server and the database pool, then exits).
CMD ["node", "dist/src/http/main.js"]
