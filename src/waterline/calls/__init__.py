"""Call control, sans-IO: the IVR flow engine and the ACD (agent queues).

A *flow* is data (YAML, see :mod:`waterline.calls.flow`); a :class:`~waterline.calls.call.FlowRun`
interprets one flow for one call. Like the SIP core it never does I/O and never reads the clock:
the telephony driver feeds it events plus ``now`` and carries out the actions it returns.

API (the contract with the telephony driver)
-------------------------------------------
``waterline.calls.flow``
    ``parse_flow(yaml_text: str) -> Flow`` — validates; raises ``FlowError`` whose message names the
    node and the field (``node 'menu', field 'options.1': no node 'nope'``). ``Flow`` is frozen:
    ``name``, ``start`` (first node id), ``nodes`` (id → node), ``answer`` (answer the call first),
    ``record`` (record the whole call, stereo; only ``bench-play``/``bench-ivr`` turn it off),
    ``unreachable`` (ids no path reaches, reported, not an error), ``prompt_names()``.
    ``parse_flow(text, prompts=names)`` also refuses prompts missing from the library.
``waterline.calls.shipped``
    ``SHIPPED`` (``default``, ``bench-play``, ``bench-record``, ``bench-ivr``), ``shipped_text(name)``
    and ``shipped_flow(name)``: the flows that ship as package data in ``calls/flows/*.yaml``
    (reading package data is the only file access in ``calls``).
``waterline.calls.events`` — inputs: ``DigitPressed``, ``PlaybackFinished``, ``RecordingFinished``,
    ``RequestAnswered``, ``RequestFailed``, ``CallerHungUp``, ``TransferEnded`` (union ``Event``).
``waterline.calls.actions`` — outputs: ``Answer``, ``Play`` (items ``Prompt``/``Speech``),
    ``StopPlayback``, ``Record``, ``Request`` (kinds in ``REQUEST_KINDS``), ``Transfer``, ``Hangup``
    (union ``Action``).
``waterline.calls.call``
    ``FlowRun(flow, *, caller, did, call_id, now, rng)``:

    - ``start(now) -> list[Action]``; ``handle(event, now) -> list[Action]``;
      ``get_timer() -> float | None`` (absolute time of the next timeout) and
      ``handle_timer(now) -> list[Action]`` (call it when ``now >= get_timer()``; early calls do
      nothing);
    - ``finished: bool`` — true once ``Hangup`` was returned or the caller hung up; after that
      every call returns ``[]``, with one exception: ``wrapping_up`` is true when the caller hung
      up while a business ``Request`` or a ``Record`` was in flight. Keep feeding that answer
      (``RequestAnswered``/``RequestFailed``/``RecordingFinished``, also after ``CallerHungUp``):
      the run records the order placed, the ticket or the message at the last moment (the outcome
      moves from ``abandoned`` to ``order-placed``/``voicemail``), and a message answers with a
      ``Request('missed_call')`` to carry out; write the CDR once ``wrapping_up`` is false;
    - ``outcome: Outcome | None`` (a ``StrEnum``: ``ivr-completed``, ``order-placed``,
      ``voicemail``, ``transferred``, ``abandoned``, ``blocked``, ``failed``), set when finished;
      ``hangup_side`` (``caller`` | ``flow``) and ``hangup_cause``;
    - ``path: list[PathStep]`` (``node``, ``kind``, ``at``, ``digits``, ``detail``) — every node
      entered, with the digits it collected; ``digits`` — all digits of the call in order;
    - ``variables: Mapping[str, object]``; ``order_id``, ``recording_ids``, ``ticket_ids``,
      ``task_ids``, ``survey_score``, ``transfer_target``;
    - ``flow`` — the ``Flow`` the run was started with (a later edit of the stored flow never
      changes a running call).

    Tokens of actions are unique per run; answers carrying a token the run no longer waits for
    are ignored (a late ``PlaybackFinished`` after barge-in). A flow that passes more than
    ``MAX_STEPS_WITHOUT_INPUT`` nodes without waiting for anything fails cleanly (outcome
    ``failed``, ``Hangup('loop')``).

ACD (issue 6; the contract with the B2BUA driver and the agents store)
--------------------------------------------------------------------
``waterline.calls.queue``
    Configuration values: ``QueueConfig`` (strategy, ring/retry timeouts, max wait and length,
    wrap-up, join/leave when empty, ring-in-use, announcements, comfort prompt, music on hold,
    ``tiers``, ``overflow`` chain of ``OverflowQueue``/``OverflowVoicemail``/``OverflowMobile``,
    call-back), ``QueueMember(agent, tier)``, ``Tier(level, after_seconds)``, ``Strategy`` and
    ``AgentState`` (the values the API and the store use).
``waterline.calls.acdevents`` — inputs: ``CallEntered``, ``AgentStateRequested``, ``AgentInUse``,
    ``LegRinging``/``LegAnswered``/``LegFailed``/``LegNoAnswer``, ``CallerHungUp``,
    ``CallerPressed``, ``CallCompleted``, ``CallTransferred`` (union ``AcdEvent``).
``waterline.calls.acdactions`` — outputs: ``RingAgent``, ``CancelLeg``, ``Bridge``,
    ``DialCustomer`` (call-back), ``MusicOnHold``, ``Announce``, ``PlayComfort``,
    ``OfferCallback``, ``AcceptCallback``, ``ExitQueue`` (union ``AcdAction``).
``waterline.calls.queuelog`` — ``QueueLogEntry`` (``QueueEvent``; ``ends_call`` marks the one
    entry that ends each call) and ``AgentStateChange`` (time, previous and new state, reason).
``waterline.calls.acd``
    ``Acd(rng=...)``: ``configure_queue(config, members)``, ``configure_agent(agent, contacts,
    ring_timeout=None)``; ``handle(event, now)``, ``get_timer()``, ``handle_timer(now)`` like
    ``FlowRun``; ``take_records()`` for the store; queries ``agent_state``, ``agent_states``,
    ``waiting``, ``estimated_wait``, ``calls_taken``; ``reset_daily_counts()`` at midnight.
    Feed it epoch seconds as ``now`` so its records can be stored as they are.

How it is wired (``telephony.distributor``): a flow's ``queue`` node returns a ``Transfer`` with
``queue`` set; the driver hands the caller to the engine's one ``Acd`` (``CallEntered``) and carries out
its actions on the caller's leg and the agents' legs. ``Bridge`` makes the flow's outcome
``transferred``; the agent's hang-up answers the ``Transfer`` with ``TransferEnded(ok=True)`` so ``next``
(a survey) runs, while ``CallCompleted`` goes to the ACD. ``ExitQueue`` to voicemail answers
``TransferEnded(ok=False, detail)`` (the node's ``on_failure``), to a mobile forwards the call first;
``detail`` lands on the call's path. An engine without the queue dials the node's ``fallback``.
"""
