"""The exchange's REST side, shared by live gap fills and backfills: paced requests, format, range fills, holes."""
