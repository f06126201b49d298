export { recordingReportSchema, recordingPath, type RecordingReport } from './metadata.js';
export { oggOpusDuration } from './ogg.js';
export { applyRecordingReport, sweepRecordings, type RecordingDeps } from './store.js';
export { recordingLinkRouter, recordingsRouter, startRecordingsSweep } from './routes.js';
export { recordingDeps } from './deps.js';
