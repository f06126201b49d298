-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "ApiKeyRole" AS ENUM ('admin', 'operator', 'viewer');

-- CreateEnum
CREATE TYPE "SyncState" AS ENUM ('pending', 'in_sync', 'drift', 'error');

-- CreateEnum
CREATE TYPE "TrunkStatus" AS ENUM ('active', 'inactive');

-- CreateEnum
CREATE TYPE "SipTransport" AS ENUM ('udp', 'tcp', 'tls');

-- CreateEnum
CREATE TYPE "DispatchRuleType" AS ENUM ('individual', 'direct', 'callee');

-- CreateTable
CREATE TABLE "api_keys" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "role" "ApiKeyRole" NOT NULL,
    "prefix" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_used_at" TIMESTAMP(3),
    "revoked_at" TIMESTAMP(3),

    CONSTRAINT "api_keys_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "actor_key_id" UUID,
    "actor_name" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "entity_type" TEXT NOT NULL,
    "entity_id" TEXT,
    "details" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "agent_profiles" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "settings" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "agent_profiles_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "trunks" (
    "id" UUID NOT NULL,
    "trunk_id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "status" "TrunkStatus" NOT NULL DEFAULT 'active',
    "supports_inbound" BOOLEAN NOT NULL,
    "supports_outbound" BOOLEAN NOT NULL,
    "allowed_addresses" TEXT[],
    "inbound_username" TEXT,
    "inbound_password_enc" TEXT,
    "proxy_address" TEXT,
    "proxy_port" INTEGER,
    "transport" "SipTransport" NOT NULL DEFAULT 'udp',
    "username" TEXT,
    "password_enc" TEXT,
    "realm" TEXT,
    "from_host" TEXT,
    "preferred_codecs" TEXT[],
    "max_concurrent_calls" INTEGER,
    "calls_per_second_limit" INTEGER,
    "number_format" TEXT NOT NULL,
    "livekit_inbound_id" TEXT,
    "livekit_outbound_id" TEXT,
    "sync_state" "SyncState" NOT NULL DEFAULT 'pending',
    "sync_error" TEXT,
    "last_synced_at" TIMESTAMP(3),
    "last_drift" TEXT,
    "last_drift_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "trunks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "phone_numbers" (
    "id" UUID NOT NULL,
    "number" TEXT NOT NULL,
    "trunk_id" UUID NOT NULL,
    "agent_profile_id" UUID,
    "label" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "phone_numbers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dispatch_rules" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "type" "DispatchRuleType" NOT NULL,
    "room_prefix" TEXT NOT NULL DEFAULT 'call-',
    "room_name" TEXT,
    "pin" TEXT,
    "randomize" BOOLEAN NOT NULL DEFAULT false,
    "agent_name" TEXT,
    "agent_profile_id" UUID,
    "inbound_numbers" TEXT[],
    "numbers" TEXT[],
    "hide_phone_number" BOOLEAN NOT NULL DEFAULT false,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "livekit_id" TEXT,
    "sync_state" "SyncState" NOT NULL DEFAULT 'pending',
    "sync_error" TEXT,
    "last_synced_at" TIMESTAMP(3),
    "last_drift" TEXT,
    "last_drift_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "dispatch_rules_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dispatch_rule_trunks" (
    "rule_id" UUID NOT NULL,
    "trunk_id" UUID NOT NULL,

    CONSTRAINT "dispatch_rule_trunks_pkey" PRIMARY KEY ("rule_id","trunk_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "api_keys_prefix_key" ON "api_keys"("prefix");

-- CreateIndex
CREATE INDEX "audit_log_entity_type_entity_id_idx" ON "audit_log"("entity_type", "entity_id");

-- CreateIndex
CREATE INDEX "audit_log_at_idx" ON "audit_log"("at");

-- CreateIndex
CREATE UNIQUE INDEX "agent_profiles_name_key" ON "agent_profiles"("name");

-- CreateIndex
CREATE UNIQUE INDEX "trunks_trunk_id_key" ON "trunks"("trunk_id");

-- CreateIndex
CREATE INDEX "trunks_provider_status_idx" ON "trunks"("provider", "status");

-- CreateIndex
CREATE UNIQUE INDEX "phone_numbers_number_key" ON "phone_numbers"("number");

-- CreateIndex
CREATE INDEX "phone_numbers_trunk_id_idx" ON "phone_numbers"("trunk_id");

-- CreateIndex
CREATE UNIQUE INDEX "dispatch_rules_name_key" ON "dispatch_rules"("name");

-- CreateIndex
CREATE INDEX "dispatch_rule_trunks_trunk_id_idx" ON "dispatch_rule_trunks"("trunk_id");

-- AddForeignKey
ALTER TABLE "phone_numbers" ADD CONSTRAINT "phone_numbers_trunk_id_fkey" FOREIGN KEY ("trunk_id") REFERENCES "trunks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "phone_numbers" ADD CONSTRAINT "phone_numbers_agent_profile_id_fkey" FOREIGN KEY ("agent_profile_id") REFERENCES "agent_profiles"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dispatch_rules" ADD CONSTRAINT "dispatch_rules_agent_profile_id_fkey" FOREIGN KEY ("agent_profile_id") REFERENCES "agent_profiles"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dispatch_rule_trunks" ADD CONSTRAINT "dispatch_rule_trunks_rule_id_fkey" FOREIGN KEY ("rule_id") REFERENCES "dispatch_rules"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dispatch_rule_trunks" ADD CONSTRAINT "dispatch_rule_trunks_trunk_id_fkey" FOREIGN KEY ("trunk_id") REFERENCES "trunks"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

