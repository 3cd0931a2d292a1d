"""Unit tests of the catalog service."""

from __future__ import annotations

from .. import SEED_BOOKS, Book, CatalogApp, WsgiClient


def test_health_says_ok_with_the_version() -> None:
    reply = WsgiClient(CatalogApp(version="v7")).get("/health")
    assert reply.status == 200
    assert reply.body == {"status": "ok", "service": "catalog", "version": "v7"}
    assert reply.headers["x-bookstore-version"] == "v7"


def test_lists_every_seeded_book() -> None:
    reply = WsgiClient(CatalogApp()).get("/books")
    assert reply.status == 200
    assert reply.body["count"] == len(SEED_BOOKS) == 12
    first = reply.body["books"][0]
    assert set(first) == {"id", "title", "author", "price_cents", "stock"}


def test_gets_one_book_by_id() -> None:
    reply = WsgiClient(CatalogApp()).get("/books/accelerate")
    assert reply.status == 200
    assert reply.body["title"] == "Accelerate"
    assert reply.body["price_cents"] == 2999


def test_unknown_book_is_a_404_naming_the_field() -> None:
    reply = WsgiClient(CatalogApp()).get("/books/no-such-book")
    assert reply.status == 404
    assert reply.body["field"] == "book_id"
    assert "no-such-book" in reply.body["error"]


def test_serves_the_books_it_is_given() -> None:
    app = CatalogApp(books=[Book("b1", "A Book", "Someone", 100, 1)])
    assert WsgiClient(app).get("/books").body["count"] == 1


def test_wrong_method_is_a_405_with_allow() -> None:
    reply = WsgiClient(CatalogApp()).request("DELETE", "/books")
    assert reply.status == 405
    assert reply.headers["allow"] == "GET"


def test_prices_and_stock_are_sane() -> None:
    assert len({book.id for book in SEED_BOOKS}) == len(SEED_BOOKS)
    assert all(book.price_cents > 0 and book.stock >= 0 for book in SEED_BOOKS)
