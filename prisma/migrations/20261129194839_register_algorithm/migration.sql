-- AlterTable
ALTER TABLE "trunks" ADD COLUMN     "register_algorithm" TEXT NOT NULL DEFAULT 'MD5';

