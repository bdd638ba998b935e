"""Hospital information answered by topic (parking, fees, insurance, hours,
emergency entrance, what to bring, address): data in ``knowledge_base/hospital.yml``."""

from bot.info.service import HospitalInfoService, InfoReply
from bot.info.topics import HospitalTopics, Topic

__all__ = ["HospitalInfoService", "HospitalTopics", "InfoReply", "Topic"]
