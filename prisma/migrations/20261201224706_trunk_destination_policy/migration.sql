-- AlterTable
ALTER TABLE "trunks" ADD COLUMN     "destination_policy" JSONB;

