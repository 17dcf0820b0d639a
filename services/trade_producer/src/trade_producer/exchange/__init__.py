"""The exchange's REST side, shared by live gap fills and backfills: pacing, format, fills, holes."""
