-- CreateIndex
CREATE INDEX "livekit_events_received_at_idx" ON "livekit_events"("received_at");

