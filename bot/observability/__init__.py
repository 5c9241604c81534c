"""Operating the bot: Prometheus metrics, structured logs, and the hooks that feed the metrics.

* :mod:`bot.observability.hooks` -- the typed hooks the dialog engine and the delivery pass call
  (no-op by default, so dialogs stay free of any metrics library);
* :mod:`bot.observability.metrics` -- one app's series in its own ``CollectorRegistry``;
* :mod:`bot.observability.http` -- ``GET /metrics`` and the request middleware (series and one
  log line per request);
* :mod:`bot.observability.logs` -- ``clinicbot serve``'s log set-up (text or JSON lines).

Nothing here imports ``prometheus_client`` at package import; only :mod:`metrics` and
:mod:`http` do.
"""
