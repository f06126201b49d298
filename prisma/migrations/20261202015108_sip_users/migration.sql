-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "sip_user" TEXT;

-- CreateTable
CREATE TABLE "sip_users" (
    "id" UUID NOT NULL,
    "username" TEXT NOT NULL,
    "display_name" TEXT,
    "realm" TEXT NOT NULL,
    "ha1_md5_enc" TEXT NOT NULL,
    "ha1_sha256_enc" TEXT NOT NULL,
    "is_active" BOOLEAN NOT NULL DEFAULT true,
    "is_blocked" BOOLEAN NOT NULL DEFAULT false,
    "max_concurrent_calls" INTEGER NOT NULL DEFAULT 3,
    "call_recording_enabled" BOOLEAN NOT NULL DEFAULT true,
    "sms_enabled" BOOLEAN NOT NULL DEFAULT true,
    "agent_profile_id" UUID,
    "contact_info" JSONB NOT NULL DEFAULT '[]',
    "user_agent" TEXT,
    "last_registration" TIMESTAMP(3),
    "registration_expires" TIMESTAMP(3),
    "failed_auth_attempts" INTEGER NOT NULL DEFAULT 0,
    "account_locked_until" TIMESTAMP(3),
    "total_calls" INTEGER NOT NULL DEFAULT 0,
    "total_minutes" INTEGER NOT NULL DEFAULT 0,
    "total_sms" INTEGER NOT NULL DEFAULT 0,
    "last_seen" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "sip_users_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "sip_users_username_key" ON "sip_users"("username");

-- CreateIndex
CREATE INDEX "sip_users_created_at_idx" ON "sip_users"("created_at");

-- AddForeignKey
ALTER TABLE "sip_users" ADD CONSTRAINT "sip_users_agent_profile_id_fkey" FOREIGN KEY ("agent_profile_id") REFERENCES "agent_profiles"("id") ON DELETE SET NULL ON UPDATE CASCADE;

