"""What every process reports about itself: Prometheus metrics (metrics, exposition), structured logs
(logs) and the request id that ties a delivery's log lines together (context).

It sits under the models in the import layers, so the edges, the jobs, the feature packages and the
integrations may all count and log through it; it imports nothing of ours. Nothing is built at import:
``prometheus_client`` chooses between its single- and multi-process storage when it is first imported,
so it is imported only once a process has decided (``exposition.use_fresh_multiprocess_dir``).
"""
