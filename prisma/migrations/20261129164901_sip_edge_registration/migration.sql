-- AlterTable
ALTER TABLE "trunks" ADD COLUMN     "register" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "register_expiry" INTEGER NOT NULL DEFAULT 300,
ADD COLUMN     "registrar" TEXT;

-- CreateTable
CREATE TABLE "trunk_registrations" (
    "trunk_id" UUID NOT NULL,
    "state" TEXT NOT NULL,
    "last_code" INTEGER,
    "last_reason" TEXT,
    "last_response_at" TIMESTAMP(3),
    "registered_at" TIMESTAMP(3),
    "expires_at" TIMESTAMP(3),
    "failures" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMP(3),
    "instance" TEXT,
    "updated_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "trunk_registrations_pkey" PRIMARY KEY ("trunk_id")
);

-- AddForeignKey
ALTER TABLE "trunk_registrations" ADD CONSTRAINT "trunk_registrations_trunk_id_fkey" FOREIGN KEY ("trunk_id") REFERENCES "trunks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

