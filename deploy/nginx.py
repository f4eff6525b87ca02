"""nginx in front of several ``davserver serve`` processes: the configuration that
docs/deployment.md documents, written out for given ports by ``deploy/local-cluster``
(and by the tests, through it).

* ``upstream davserver``: every process, no stickiness; a process that refuses or
  drops connections is passed over for ``fail_timeout`` (nginx tries the request on
  the next one when nothing was sent yet). ``keepalive_timeout`` is shorter than the
  servers' ``server.drain_delay``: a draining process answers with
  ``Connection: close``, and nginx has closed every idle connection to it before it
  stops listening, so no request is sent on a connection it is closing.
* ``location /``: bodies stream both ways, unbuffered (the quota answers 507 early);
  ``X-Sendfile-Type: X-Accel-Redirect`` tells the servers they may hand large
  downloads over (Rack::Sendfile's convention).
* ``location /_blobs/`` (internal): what a handed-over download reads. Either the
  blob directory with sendfile (``blobs.kind: local`` on a directory nginx reads), or
  the object store through the signed URL the server made (``blobs.kind: s3``). The
  server's validators and protective headers (and the web pages' ``X-Frame-Options``
  and ``Referrer-Policy``, the sync apps' ``OC-*``) are kept (``$upstream_http_*``
  read before nginx's own answer replaces them; an empty one adds no header); nginx's
  own ``ETag`` and date checks are off, since the server evaluated the conditions
  already.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

MISSING = ("The content of this file is missing on the server (storage damaged). "
           "Tell the administrator.")

SAVED = """\
        # The server's headers, saved before this location's own answer.
        set $dav_etag $upstream_http_etag;
        set $dav_last_modified $upstream_http_last_modified;
        set $dav_csp $upstream_http_content_security_policy;
        set $dav_nosniff $upstream_http_x_content_type_options;
        set $dav_frame $upstream_http_x_frame_options;
        set $dav_referrer $upstream_http_referrer_policy;
        set $dav_oc_fileid $upstream_http_oc_fileid;
        set $dav_oc_etag $upstream_http_oc_etag;
        set $dav_oc_checksum $upstream_http_oc_checksum;
"""
RESTORED = """\
        add_header ETag $dav_etag always;
        add_header Last-Modified $dav_last_modified always;
        add_header Content-Security-Policy $dav_csp always;
        add_header X-Content-Type-Options $dav_nosniff always;
        add_header X-Frame-Options $dav_frame always;
        add_header Referrer-Policy $dav_referrer always;
        add_header OC-FileId $dav_oc_fileid always;
        add_header OC-ETag $dav_oc_etag always;
        add_header OC-Checksum $dav_oc_checksum always;
"""


def blob_location(blobs: str, blob_dir: Path, s3_endpoint: str) -> str:
    """The internal ``location /_blobs/`` for a directory or an object store."""
    if blobs == "local":
        return f"""\
    location /_blobs/ {{
        internal;
{SAVED}        alias {blob_dir}/objects/;
        etag off;
        if_modified_since off;
        max_ranges 1;
        default_type application/octet-stream;
        add_header Accept-Ranges $dav_partial_ranges always;
{RESTORED}    }}
"""
    host = urlsplit(s3_endpoint).netloc
    return f"""\
    location /_blobs/ {{
        internal;
{SAVED}        proxy_pass {s3_endpoint}/;
        proxy_set_header Host {host};
        proxy_set_header Authorization "";
        proxy_set_header Cookie "";
        proxy_set_header X-Sendfile-Type "";
        proxy_set_header X-Forwarded-For "";
        proxy_set_header X-Forwarded-Proto "";
        proxy_set_header X-Forwarded-Host "";
        proxy_set_header If-Match "";
        proxy_set_header If-None-Match "";
        proxy_set_header If-Modified-Since "";
        proxy_set_header If-Unmodified-Since "";
        proxy_set_header If-Range "";
        proxy_hide_header Content-Type;
        proxy_hide_header ETag;
        proxy_hide_header Last-Modified;
        proxy_hide_header Expires;
        proxy_hide_header Vary;
        proxy_hide_header x-amz-request-id;
        proxy_hide_header x-amz-id-2;
        proxy_hide_header Seaweed-X-Amz-ETag;
        proxy_hide_header Seaweed-X-Amz-Owner;
        proxy_intercept_errors on;
        error_page 403 404 = @blob_missing;
        error_page 500 502 503 504 = @blob_unavailable;
{RESTORED}    }}
    location @blob_missing {{
        default_type text/plain;
        return 500 "{MISSING}\\n";
    }}
    location @blob_unavailable {{
        default_type text/plain;
        add_header Retry-After 5 always;
        return 503 "The file store is not answering; try again in a few seconds.\\n";
    }}
"""


def site(upstreams: list[int], listen: str, *, blobs: str, blob_dir: Path,
         s3_endpoint: str, upstream_host: str = "127.0.0.1") -> str:
    """The ``upstream`` and ``server`` blocks: nginx on ``listen`` in front of the
    servers on ``upstreams`` (ports)."""
    servers = "".join(f"        server {upstream_host}:{port} max_fails=1 fail_timeout=2s;\n"
                      for port in upstreams)
    return f"""\
    # nginx sends Accept-Ranges with a whole file it serves, not with a 206 (and the
    # server hands over only ranges nginx satisfies).
    map $http_range $dav_partial_ranges {{
        "" "";
        default bytes;
    }}

    upstream davserver {{
{servers}        keepalive 64;
        keepalive_timeout 2s;
    }}

    server {{
        listen {listen};
        client_max_body_size 0;
        proxy_request_buffering off;
        proxy_buffering off;
        proxy_http_version 1.1;
        proxy_read_timeout 300s;
        proxy_send_timeout 300s;
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 3;

        location / {{
            proxy_pass http://davserver;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Connection "";
            proxy_set_header X-Sendfile-Type X-Accel-Redirect;
        }}

{blob_location(blobs, blob_dir, s3_endpoint)}    }}
"""
