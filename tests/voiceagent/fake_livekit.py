"""Stand-ins for LiveKit's server API, through its public request and response types.

`FakeSip` implements the `api.sip` methods the telephony set-up and reminder
calls use, keeps the trunks and rules it was given as LiveKit would, and
records every write and every call it is asked to place. `FakeLiveKit` adds
agent dispatch, as `voiceagent.outbound.livekit_api()` yields it.
"""

from __future__ import annotations

from livekit import api

from voiceagent import telephony


class FakeSip:
    def __init__(self):
        self.trunks: dict[str, api.SIPInboundTrunkInfo] = {}
        self.rules: dict[str, api.SIPDispatchRuleInfo] = {}
        self.outbound: dict[str, api.SIPOutboundTrunkInfo] = {}
        self.dialled: list[api.CreateSIPParticipantRequest] = []
        # How the next calls fail, as LiveKit's API raises it with wait_until_answered:
        # a SIP status (480: nobody answered, 486: busy, 404: no such number), or
        # `api_error`, a refusal without one (a wrong trunk, bad keys).
        self.unanswered = False
        self.sip_failure: tuple[int, str] | None = None
        self.api_error = False
        self.writes: list[str] = []

    async def list_inbound_trunk(self, request):
        return api.ListSIPInboundTrunkResponse(items=[_copy(t) for t in self.trunks.values()])

    async def create_inbound_trunk(self, request):
        trunk = _copy(request.trunk)
        trunk.sip_trunk_id = f"ST_{len(self.trunks) + 1}"
        self.trunks[trunk.sip_trunk_id] = trunk
        self.writes.append(f"create trunk {trunk.sip_trunk_id}")
        return _copy(trunk)

    async def update_inbound_trunk(self, trunk_id, trunk):
        assert trunk_id in self.trunks
        self.trunks[trunk_id] = _copy(trunk)
        self.trunks[trunk_id].sip_trunk_id = trunk_id
        self.writes.append(f"update trunk {trunk_id}")
        return _copy(self.trunks[trunk_id])

    async def list_dispatch_rule(self, request):
        return api.ListSIPDispatchRuleResponse(items=[_copy(r) for r in self.rules.values()])

    async def create_dispatch_rule(self, request):
        rule = _copy(request.dispatch_rule)
        rule.sip_dispatch_rule_id = f"SDR_{len(self.rules) + 1}"
        self.rules[rule.sip_dispatch_rule_id] = rule
        self.writes.append(f"create rule {rule.sip_dispatch_rule_id}")
        return _copy(rule)

    async def update_dispatch_rule(self, rule_id, rule):
        assert rule_id in self.rules
        self.rules[rule_id] = _copy(rule)
        self.rules[rule_id].sip_dispatch_rule_id = rule_id
        self.writes.append(f"update rule {rule_id}")
        return _copy(self.rules[rule_id])


    # Outbound: the trunk reminder calls use, and the calls placed on it.

    async def list_outbound_trunk(self, request):
        return api.ListSIPOutboundTrunkResponse(items=[_copy(t) for t in self.outbound.values()])

    async def create_outbound_trunk(self, request):
        trunk = _copy(request.trunk)
        trunk.sip_trunk_id = f"ST_out_{len(self.outbound) + 1}"
        self.outbound[trunk.sip_trunk_id] = trunk
        self.writes.append(f"create outbound trunk {trunk.sip_trunk_id}")
        return _copy(trunk)

    async def update_outbound_trunk(self, trunk_id, trunk):
        assert trunk_id in self.outbound
        self.outbound[trunk_id] = _copy(trunk)
        self.outbound[trunk_id].sip_trunk_id = trunk_id
        self.writes.append(f"update outbound trunk {trunk_id}")
        return _copy(self.outbound[trunk_id])

    async def create_sip_participant(self, request, **kwargs):
        """Rings: answered, unless told to fail as LiveKit's API does (SipCallError carrying the SIP status)."""
        self.dialled.append(_copy(request))
        failure = (480, "Temporarily Unavailable") if self.unanswered else self.sip_failure
        if failure:
            raise api.SipCallError("unavailable", f"SIP call failed: {failure[0]}", status=503,
                                   metadata={"sip_status_code": str(failure[0]), "sip_status": failure[1]})
        if self.api_error:
            raise api.ServerError("not_found", "requested sip trunk does not exist", status=404)
        return api.SIPParticipantInfo(participant_identity=request.participant_identity,
                                      room_name=request.room_name, sip_call_id="SCL_1")


def _copy(message):
    clone = type(message)()
    clone.CopyFrom(message)
    return clone


class FakeDispatch:
    def __init__(self):
        self.requests: list[api.CreateAgentDispatchRequest] = []
        self.fail = False

    async def create_dispatch(self, request):
        if self.fail:
            raise api.TwirpError("internal", "dispatch refused", status=500)
        self.requests.append(request)
        return api.AgentDispatch(id=f"AD_{len(self.requests)}", agent_name=request.agent_name, room=request.room,
                                 metadata=request.metadata)


class FakeLiveKit:
    def __init__(self):
        self.sip = FakeSip()
        self.agent_dispatch = FakeDispatch()
        self.sip.outbound["ST_out_1"] = api.SIPOutboundTrunkInfo(
            sip_trunk_id="ST_out_1", name=telephony.OUTBOUND_TRUNK_NAME, address="clinic.pstn.twilio.com",
            numbers=["+924235761234"])
