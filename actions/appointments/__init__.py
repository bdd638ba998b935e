"""Appointment actions: booking, listing, cancelling, rescheduling.

Thin adapters over ``bot.appointments``; see docs/scheduling-interface.md.
"""

from actions.appointments.booking import (  # noqa: F401
    ActionAskApptDepartment,
    ActionAskApptDoctor,
    ActionBookAppointment,
    ActionStartAppointment,
    ValidateAppointmentForm,
)
from actions.appointments.changes import (  # noqa: F401
    ActionAskApptTarget,
    ActionCancelAppointment,
    ActionListAppointments,
    ActionRescheduleAppointment,
    ActionStartCancelAppointment,
    ActionStartRescheduleAppointment,
    ValidateAppointmentCancelForm,
    ValidateAppointmentRescheduleForm,
)
from actions.appointments.common import (  # noqa: F401
    ActionAskApptConfirm,
    ActionAskApptSlot,
)
