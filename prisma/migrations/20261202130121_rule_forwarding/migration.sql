-- AlterTable
ALTER TABLE "dispatch_rules" ADD COLUMN     "forwarding" JSONB;

