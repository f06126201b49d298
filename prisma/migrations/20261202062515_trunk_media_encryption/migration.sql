-- AlterTable
ALTER TABLE "trunks" ADD COLUMN     "media_encryption" TEXT NOT NULL DEFAULT 'disable';

