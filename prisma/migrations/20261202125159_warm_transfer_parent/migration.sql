-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "parent_call_id" UUID;

