-- AlterTable
ALTER TABLE "phone_numbers" ADD COLUMN     "forwarding" JSONB;

