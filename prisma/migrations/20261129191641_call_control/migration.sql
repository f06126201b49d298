-- AlterEnum
ALTER TYPE "CallStatus" ADD VALUE 'blocked';

-- AlterTable
ALTER TABLE "phone_numbers" ADD COLUMN     "max_concurrent_calls" INTEGER,
ADD COLUMN     "queue_priority" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "calls" ALTER COLUMN "room_name" DROP NOT NULL;

-- CreateTable
CREATE TABLE "blocked_numbers" (
    "id" UUID NOT NULL,
    "pattern" TEXT NOT NULL,
    "is_prefix" BOOLEAN NOT NULL,
    "reason" TEXT,
    "sip_status" INTEGER,
    "expires_at" TIMESTAMP(3),
    "hits" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "blocked_numbers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "priority_callers" (
    "id" UUID NOT NULL,
    "pattern" TEXT NOT NULL,
    "is_prefix" BOOLEAN NOT NULL,
    "priority" INTEGER NOT NULL,
    "label" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "priority_callers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "call_slots" (
    "room_name" TEXT NOT NULL,
    "state" TEXT NOT NULL,
    "trunk_id" UUID,
    "to_number" TEXT,
    "from_number" TEXT,
    "agent_profile_id" UUID,
    "priority" INTEGER NOT NULL DEFAULT 0,
    "enqueued_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "admitted_at" TIMESTAMP(3),
    "heartbeat_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "call_slots_pkey" PRIMARY KEY ("room_name")
);

-- CreateIndex
CREATE UNIQUE INDEX "blocked_numbers_pattern_is_prefix_key" ON "blocked_numbers"("pattern", "is_prefix");

-- CreateIndex
CREATE UNIQUE INDEX "priority_callers_pattern_is_prefix_key" ON "priority_callers"("pattern", "is_prefix");

-- CreateIndex
CREATE INDEX "call_slots_state_priority_enqueued_at_idx" ON "call_slots"("state", "priority", "enqueued_at");

