"""Appointment booking: hospital timetable, scheduling interface, services.

Plain Python: never imports rasa. Layers:

* :mod:`bot.appointments.schedule` - the timetable knowledge base (doctors, sessions, fees);
* :mod:`bot.appointments.loader` - ``medbot kb load``: upsert it into the database;
* :mod:`bot.appointments.interface` - the ``SchedulingBackend`` protocol and its value types;
* :mod:`bot.appointments.local` - the default backend on the local database;
* :mod:`bot.appointments.service` - use cases with validation and policy;
* :mod:`bot.appointments.dates` - bilingual date/time expressions;
* :mod:`bot.appointments.patient` - name/phone validation (masking: :mod:`bot.masking`).
"""
