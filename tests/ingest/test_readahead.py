import pytest

from facetrail.ingest.readahead import read_ahead


def test_items_arrive_in_order_and_complete():
    assert list(read_ahead(iter(range(100)), depth=3)) == list(range(100))


def test_an_error_of_the_source_is_raised_to_the_consumer_after_the_items_before_it():
    def failing():
        yield 1
        yield 2
        raise ValueError("damaged")

    seen = []
    with pytest.raises(ValueError, match="damaged"):
        for item in read_ahead(failing(), depth=2):
            seen.append(item)
    assert seen == [1, 2]


def test_a_consumer_that_stops_early_closes_the_source():
    closed = []

    def endless():
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.append(True)

    items = read_ahead(endless(), depth=2)
    assert [next(items) for _ in range(3)] == [0, 1, 2]
    items.close()
    assert closed == [True]
