-- AlterTable
ALTER TABLE "calls" ADD COLUMN     "answered_by" TEXT;

