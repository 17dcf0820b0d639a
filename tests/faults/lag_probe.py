"""``python lag_probe.py GROUP TOPIC SECONDS``: measure a group's lag in a loop while a member joins it.

Run in a process of its own by ``test_cold_start``: a crash inside librdkafka ends the process
(a signal exit), not the test run. Prints the number of measurements that succeeded.
"""

from __future__ import annotations

import sys
import threading
import time

from confluent_kafka import Consumer, KafkaException
from tickcast.lag import OffsetReader
from tickcast.settings import KafkaSettings


def main(group: str, topic: str, seconds: float) -> None:
    kafka = KafkaSettings()
    deadline = time.monotonic() + seconds

    def member() -> None:
        consumer = Consumer({**kafka.client_config(), "group.id": group, "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        while time.monotonic() < deadline:
            consumer.poll(0.2)
        consumer.close()

    joining = threading.Thread(target=member)
    joining.start()
    reader = OffsetReader(kafka, group, timeout_s=5.0)
    measured = 0
    while time.monotonic() < deadline:
        try:
            reader.read([topic])
            measured += 1
        except KafkaException:
            pass  # not ready yet: the monitor counts and logs these
        time.sleep(0.1)
    joining.join()
    reader.close()
    print(f"measured={measured}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
