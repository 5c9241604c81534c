"""Channel-agnostic conversations: ``(state, Inbound, ctx) -> (state, [Reply])``.

Nothing here imports a channel library; handlers (Telegram, SMS, terminal) translate their input
to :class:`~bot.dialogs.types.Inbound` and render :class:`~bot.dialogs.types.Reply`.
"""
