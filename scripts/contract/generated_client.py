"""A client generated from the served `/openapi.json` by openapi-python-client,
used as an integrator would: create a payin, read it back, list payins. The
caller adds the merchant's signed headers to each call; the generated
models must parse every answer (a document that lies fails here)."""
import importlib
import json
import os
import subprocess
import sys
import urllib.request

from gateway import merchant_headers

PACKAGE = "paygate_client"


def generate(base, tmp):
    spec = os.path.join(tmp, "openapi.json")
    with urllib.request.urlopen(base + "/openapi.json") as r, open(spec, "wb") as f:
        f.write(r.read())
    # With --meta none the output directory is the package itself.
    out = os.path.join(tmp, PACKAGE)
    config = os.path.join(tmp, "client-config.json")
    with open(config, "w") as f:
        json.dump({"package_name_override": PACKAGE, "project_name_override": "paygate-client"}, f)
    tool = os.path.join(os.path.dirname(sys.executable), "openapi-python-client")
    run = subprocess.run([tool, "generate", "--path", spec, "--output-path", out, "--config", config, "--meta", "none"],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"contract-check: openapi-python-client failed:\n{run.stdout[-5000:]}\n{run.stderr[-5000:]}")
    sys.path.insert(0, tmp)
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
        del sys.modules[name]  # the previous database's client
    return importlib.import_module(PACKAGE)


def check(gw, merchant, tmp):
    package = generate(gw.base, tmp)
    models = importlib.import_module(f"{PACKAGE}.models")
    create = importlib.import_module(f"{PACKAGE}.api.merchant.create_payin")
    get = importlib.import_module(f"{PACKAGE}.api.merchant.get_payin")
    listing = importlib.import_module(f"{PACKAGE}.api.merchant.list_payins")

    def signed():
        """A client carrying fresh merchant headers: a signature holds only
        for the server's time window."""
        return package.Client(base_url=gw.base, raise_on_unexpected_status=True, headers=merchant_headers(merchant))

    order = f"generated-client-{os.getpid()}-{len(tmp)}"
    body = models.PayInCreateIn(merchant_order_id=order, amount="42.50", currency=models.Currency.RUB,
                                method=models.PaymentMethod.CARD, customer_id="c-generated")
    made = create.sync_detailed(client=signed(), body=body)
    assert made.status_code == 201, (made.status_code, made.content)
    payin = made.parsed.data
    assert (payin.amount, payin.currency, payin.status) == ("42.50", "RUB", "pending"), payin

    read = get.sync_detailed(client=signed(), body=models.GetInType0(id=payin.id))
    assert read.status_code == 200, (read.status_code, read.content)
    assert (read.parsed.data.id, read.parsed.data.merchant_order_id) == (payin.id, order), read.parsed

    page = listing.sync_detailed(client=signed(), body=models.PayInListIn(limit=100, status=[models.PayInListInStatusItem.PENDING]))
    assert page.status_code == 200, (page.status_code, page.content)
    assert payin.id in [p.id for p in page.parsed.data.items], page.parsed
