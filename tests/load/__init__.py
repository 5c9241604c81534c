"""The load-and-races test: 200 patients on SMS and Telegram against two ``clinicbot serve``.

Run it alone (it needs PostgreSQL; without ``CLINICBOT_TEST_POSTGRES_URL`` it is skipped)::

    CLINICBOT_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        python3 dev.py test tests/load -s

``-s`` shows the summary line (patients, requests, turns/s, p99, duplicates, elapsed).
"""
