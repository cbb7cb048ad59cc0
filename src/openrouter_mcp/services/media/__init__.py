"""The media tools' domain logic, with no knowledge of MCP: analysis of images, audio, video and documents
through chat, image and speech generation, resumable video jobs, and the formats, inputs, saved outputs
and token estimates they rest on."""

from .analyze import Analysis as Analysis
from .analyze import analyze as analyze
from .common import Report as Report
from .common import saved_dict as saved_dict
from .generate import GeneratedAudio as GeneratedAudio
from .generate import GeneratedImages as GeneratedImages
from .generate import generate_audio as generate_audio
from .generate import generate_images as generate_images
from .generate import save_chat_media as save_chat_media
from .video import VideoOutcome as VideoOutcome
from .video import follow_video as follow_video
from .video import submit_video as submit_video
