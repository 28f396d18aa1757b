/**
 * Custom search attributes, so the Temporal UI's run list can be filtered by step and status
 * (e.g. `SegmentationStatus = "failed"`). The local stack registers them when it starts the dev
 * server; docker-compose.yml registers the same names.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEGMENTATION_STEP = defineSearchAttributeKey('SegmentationStep', SearchAttributeType.KEYWORD);
export const SEGMENTATION_STATUS = defineSearchAttributeKey('SegmentationStatus', SearchAttributeType.KEYWORD);

export const CUSTOM_SEARCH_ATTRIBUTES = [SEGMENTATION_STEP, SEGMENTATION_STATUS];

/** Set by Temporal on runs a schedule starts: the time slot the run is for (read, never written). */
export const TEMPORAL_SCHEDULED_START_TIME = defineSearchAttributeKey('TemporalScheduledStartTime', SearchAttributeType.DATETIME);
