"""An entry script whose run() does no model work: what is left of a request's cost is the server's.

Served with every feature on (request ids, metrics, admission control, timeouts), it measures the
server overhead per request directly, without subtracting a separately timed model cost.
"""


def init():
    pass


def run(raw_data):
    return [0]
