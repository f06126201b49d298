-- AlterTable
ALTER TABLE "trunks" ADD COLUMN     "sms_max_segments" INTEGER NOT NULL DEFAULT 10,
ADD COLUMN     "sms_split" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "sms_messages" (
    "id" UUID NOT NULL,
    "direction" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "from_number" TEXT NOT NULL,
    "to_number" TEXT NOT NULL,
    "body" TEXT NOT NULL,
    "encoding" TEXT NOT NULL,
    "segments" INTEGER NOT NULL,
    "trunk_id" UUID,
    "webhook_url" TEXT,
    "sip_call_id" TEXT,
    "sip_cseq" INTEGER,
    "source_address" TEXT,
    "reply_state" TEXT,
    "in_reply_to_id" UUID,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMP(3),
    "parts_sent" INTEGER NOT NULL DEFAULT 0,
    "last_status" INTEGER,
    "last_reason" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "sent_at" TIMESTAMP(3),
    "delivered_at" TIMESTAMP(3),

    CONSTRAINT "sms_messages_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "sms_messages_status_next_attempt_at_idx" ON "sms_messages"("status", "next_attempt_at");

-- CreateIndex
CREATE INDEX "sms_messages_reply_state_idx" ON "sms_messages"("reply_state");

-- CreateIndex
CREATE INDEX "sms_messages_from_number_to_number_created_at_idx" ON "sms_messages"("from_number", "to_number", "created_at");

-- CreateIndex
CREATE INDEX "sms_messages_created_at_idx" ON "sms_messages"("created_at");

-- CreateIndex
CREATE UNIQUE INDEX "sms_messages_sip_call_id_sip_cseq_key" ON "sms_messages"("sip_call_id", "sip_cseq");

-- AddForeignKey
ALTER TABLE "sms_messages" ADD CONSTRAINT "sms_messages_trunk_id_fkey" FOREIGN KEY ("trunk_id") REFERENCES "trunks"("id") ON DELETE SET NULL ON UPDATE CASCADE;

