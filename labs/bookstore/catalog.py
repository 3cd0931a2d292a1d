"""The catalog service: the books the store sells, their prices and their stock.

Routes: ``GET /health``, ``GET /books``, ``GET /books/{book_id}``. The data is in memory and
seeded with :data:`SEED_BOOKS`; ``orders`` reads a book's price and stock from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from .web import HttpError, Request, Response, ServiceApp

__all__ = ["SEED_BOOKS", "Book", "CatalogApp"]


@dataclass(frozen=True)
class Book:
    """A book in the catalog.

    Args:
        id: A URL-safe slug, e.g. ``"accelerate"``.
        title: The title.
        author: The authors, comma-separated.
        price_cents: Unit price in US cents.
        stock: Copies available.
    """

    id: str
    title: str
    author: str
    price_cents: int
    stock: int

    def to_dict(self) -> dict[str, Any]:
        """Return the book as a JSON-ready dict."""
        return asdict(self)


SEED_BOOKS: tuple[Book, ...] = (
    Book(
        "the-phoenix-project",
        "The Phoenix Project",
        "Gene Kim, Kevin Behr, George Spafford",
        2499,
        40,
    ),
    Book("the-unicorn-project", "The Unicorn Project", "Gene Kim", 2499, 25),
    Book(
        "the-devops-handbook",
        "The DevOps Handbook",
        "Gene Kim, Jez Humble, Patrick Debois, John Willis, Nicole Forsgren",
        3999,
        30,
    ),
    Book("accelerate", "Accelerate", "Nicole Forsgren, Jez Humble, Gene Kim", 2999, 35),
    Book("continuous-delivery", "Continuous Delivery", "Jez Humble, David Farley", 5499, 12),
    Book(
        "site-reliability-engineering",
        "Site Reliability Engineering",
        "Betsy Beyer, Chris Jones, Jennifer Petoff, Niall Richard Murphy",
        4999,
        20,
    ),
    Book(
        "the-site-reliability-workbook",
        "The Site Reliability Workbook",
        "Betsy Beyer, Niall Richard Murphy, David K. Rensin, Kent Kawahara, Stephen Thorne",
        4999,
        8,
    ),
    Book("release-it", "Release It!", "Michael T. Nygard", 4599, 0),
    Book("infrastructure-as-code", "Infrastructure as Code", "Kief Morris", 5999, 15),
    Book("team-topologies", "Team Topologies", "Matthew Skelton, Manuel Pais", 2799, 18),
    Book("building-microservices", "Building Microservices", "Sam Newman", 5999, 10),
    Book(
        "observability-engineering",
        "Observability Engineering",
        "Charity Majors, Liz Fong-Jones, George Miranda",
        5499,
        3,
    ),
)
"""The seeded catalog: twelve DevOps books. ``release-it`` is out of stock on purpose."""


class CatalogApp(ServiceApp):
    """The catalog service as a WSGI application.

    Args:
        books: The books to serve; :data:`SEED_BOOKS` when omitted.
        **options: Passed to :class:`~.web.ServiceApp` (``version``, ``fault``, ``sleep``,
            ``clock``, ``logger``, ``request_id_factory``).
    """

    def __init__(self, books: Iterable[Book] | None = None, **options: Any) -> None:
        super().__init__("catalog", **options)
        self.books: dict[str, Book] = {b.id: b for b in (SEED_BOOKS if books is None else books)}
        self.router.add("GET", "/books", self.list_books)
        self.router.add("GET", "/books/{book_id}", self.get_book)

    def list_books(self, request: Request) -> Response:
        """Handle ``GET /books``: every book, with the count."""
        books = [book.to_dict() for book in self.books.values()]
        return Response(200, {"books": books, "count": len(books)})

    def get_book(self, request: Request) -> Response:
        """Handle ``GET /books/{book_id}``: one book, or 404 when the id is unknown."""
        book_id = request.params["book_id"]
        book = self.books.get(book_id)
        if book is None:
            raise HttpError(
                404,
                f"unknown book {book_id!r}; GET /books lists the ids, e.g. 'accelerate'",
                field="book_id",
            )
        return Response(200, book.to_dict())
