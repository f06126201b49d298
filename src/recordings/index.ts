export { recordingReportSchema, recordingPath, type RecordingReport } from './metadata.js';
export { oggOpusDuration } from './ogg.js';
export {
  applyRecordingReport,
  recordingReported,
  retryUploads,
  sweepRecordings,
  type ReportOutcome,
} from './store.js';
export { recordingLinkRouter, recordingsRouter, startRecordingsSweep } from './routes.js';
export { recordingDeps, type RecordingDeps } from './deps.js';
export { RecordingBucket, recordingBucket } from './s3.js';
export {
  callRecordingSchema,
  recordingSettingsSchema,
  type CallRecordingSetting,
  type RecordingSettings,
} from './settings.js';
