"""WebSocket URL map (HTTP is clinic.urls)."""

from django.urls import path

from voiceagent.consumers import LiveCallsConsumer

websocket_urlpatterns = [
    path("ws/live-calls/", LiveCallsConsumer.as_asgi()),
]
