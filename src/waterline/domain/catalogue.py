"""The one message catalogue: every user-facing text, in Chinese and English, keyed by a stable code.

Errors, dispatch reasons and SMS templates all come from here so wording is reviewed in one place and
the web layer can return both languages. Templates use ``str.format`` placeholders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# code -> (Chinese, English)
MESSAGES: Mapping[str, tuple[str, str]] = {
    # generic
    "not_found": ("未找到{what}（{key}）", "{what} not found ({key})"),
    "invalid_input": ("输入无效：{detail}", "Invalid input: {detail}"),
    "conflict": ("数据冲突：{detail}", "Conflict: {detail}"),
    # phones
    "phone.invalid": ("电话号码无效：{raw}", "Invalid phone number: {raw}"),
    "phone.foreign": ("只支持中国大陆号码：{raw}", "Only mainland China numbers are supported: {raw}"),
    "phone.duplicate": (
        "电话号码已属于其他客户：{phone}",
        "Phone number already belongs to another customer: {phone}",
    ),
    # customers and addresses
    "customer.no_phone": ("客户至少需要一个电话号码", "A customer needs at least one phone number"),
    "customer.no_address": ("客户没有送水地址", "The customer has no delivery address"),
    "customer.name_required": ("客户名称不能为空", "Customer name must not be empty"),
    "address.unknown_district": ("未知的区县：{city}{district}", "Unknown district: {city} {district}"),
    "address.bad_floor": ("楼层无效：{floor}", "Invalid floor: {floor}"),
    "address.bad_coordinates": ("坐标无效：{lat},{lon}", "Invalid coordinates: {lat},{lon}"),
    "address.not_of_customer": (
        "地址{address_id}不属于该客户",
        "Address {address_id} does not belong to this customer",
    ),
    # products
    "product.inactive": ("商品已下架：{sku}", "Product is no longer sold: {sku}"),
    "product.bad_price": ("价格无效：{price_fen}分", "Invalid price: {price_fen} fen"),
    # orders
    "order.no_items": ("订单没有商品", "The order has no items"),
    "order.bad_quantity": ("数量必须为正整数：{quantity}", "Quantity must be a positive integer: {quantity}"),
    "order.bad_window": ("送达时间段无效", "Invalid requested delivery window"),
    "order.illegal_transition": (
        "订单{number}不能从“{from_state}”变为“{to_state}”",
        "Order {number} cannot go from {from_state} to {to_state}",
    ),
    # agents and queues
    "agent.illegal_transition": (
        "坐席状态不能从“{from_state}”变为“{to_state}”",
        "Agent state cannot go from {from_state} to {to_state}",
    ),
    "agent.pause_reason_required": (
        "暂停必须填写原因（如用餐、培训）",
        "A pause needs a reason (e.g. meal, training)",
    ),
    "agent.bad_state": (
        "无效的坐席状态：{state}（可选 available、paused、logged_out）",
        "Invalid agent state: {state} (one of available, paused, logged_out)",
    ),
    "agent.not_agent": ("用户{username}不是坐席", "User {username} is not an agent"),
    "agent.unknown_feature_code": ("未知的功能码：{feature}", "Unknown feature code: {feature}"),
    "disposition.bad_code": (
        "无效的通话小结类型：{given}（可选 {choices}）",
        "Invalid disposition: {given} (one of {choices})",
    ),
    "disposition.no_call": ("通话小结缺少通话 ID", "A disposition needs a call id"),
    "disposition.notes_too_long": ("备注最多 {limit} 个字", "Notes are limited to {limit} characters"),
    "queue.invalid_config": ("队列配置无效：{detail}", "Invalid queue configuration: {detail}"),
    "order.cancel_reason_required": ("取消订单必须填写原因", "Cancelling an order needs a reason"),
    "order.not_dispatchable": (
        "订单{number}无法派单：{detail}",
        "Order {number} cannot be dispatched: {detail}",
    ),
    "order.bad_sequence": ("订单序号无效：{seq}", "Invalid order sequence: {seq}"),
    # tickets and buckets
    "ticket.overdraw": (
        "水票余额不足：需要{needed}张，余额{balance}张",
        "Not enough water tickets: {needed} needed, balance {balance}",
    ),
    "ticket.bad_quantity": (
        "水票数量必须为正整数：{quantity}",
        "Ticket quantity must be a positive integer: {quantity}",
    ),
    "ticket.not_ticket_paid": ("订单{number}未使用水票支付", "Order {number} is not paid with tickets"),
    "bucket.bad_quantity": (
        "桶数必须为正整数：{quantity}",
        "Bucket count must be a positive integer: {quantity}",
    ),
    "bucket.refund_exceeds": (
        "退押桶数{quantity}超过押金桶数{entitlement}",
        "Refunding {quantity} deposits exceeds the {entitlement} held on deposit",
    ),
    "bucket.collect_exceeds": (
        "回收空桶{quantity}个超过客户持有的{held}个",
        "Collecting {quantity} empties exceeds the {held} the customer holds",
    ),
    # dispatch
    "dispatch.no_station": ("没有可服务该地址的送水站", "No station can serve this address"),
    "dispatch.override": ("客户地址指定送水站：{station}", "Address has a station override: {station}"),
    "dispatch.override_missing": (
        "指定的送水站{station_id}不存在，改为自动选择",
        "Override station {station_id} missing",
    ),
    "dispatch.service_area": (
        "{district}属于{station}的服务范围",
        "{district} is in the service area of {station}",
    ),
    "dispatch.nearest": (
        "最近的营业中送水站：{station}（{km}公里）",
        "Nearest open station: {station} ({km} km)",
    ),
    "dispatch.nearest_closed": (
        "所有送水站均未营业，选最近的：{station}（{km}公里）",
        "No station is open now; nearest: {station} ({km} km)",
    ),
    "dispatch.courier": (
        "送水员{courier}：当前负载{load}/{capacity}",
        "Courier {courier}: current load {load}/{capacity}",
    ),
    "dispatch.no_courier": (
        "{station}暂无有空余运力的在岗送水员",
        "No on-duty courier with capacity at {station}",
    ),
    "dispatch.eta": ("预计{minutes}分钟送达", "Estimated delivery in {minutes} minutes"),
    # SMS templates (Chinese only: these go to customers' phones)
    # kept within one 70-character segment for a 3-character courier name (tests/domain/test_catalogue.py)
    "sms.order_dispatched": (
        "【{sign}】订单{number}已派送，送水员{courier_name}{courier_phone}，预计{eta}前送达。咨询{hotline}",
        "[{sign}] Order {number} dispatched; courier {courier_name} ({courier_phone}), ETA {eta}. "
        "Hotline {hotline}.",
    ),
    "sms.order_placed": (
        "【{sign}】您的订单{number}已受理，我们将尽快为您安排送水。如有疑问请拨打{hotline}。",
        "[{sign}] Order {number} received; a courier will be assigned soon. Hotline {hotline}.",
    ),
    "sms.order_cancelled": (
        "【{sign}】您的订单{number}已取消。如有疑问请拨打{hotline}。",
        "[{sign}] Order {number} has been cancelled. Hotline {hotline}.",
    ),
    # call flows, numbers, call records
    "flow.bad_name": (
        "流程名称无效：{name}（小写字母、数字、- 或 _，最多 64 位）",
        "Invalid flow name: {name} (lowercase letters, digits, - or _, at most 64)",
    ),
    "flow.invalid": ("流程无效：{detail}", "Invalid flow: {detail}"),
    "did.invalid": ("号码无效：{raw}", "Invalid number: {raw}"),
    "complaint.bad_reason": ("投诉原因无效：{reason}", "Invalid complaint reason: {reason}"),
}


@dataclass(frozen=True)
class Message:
    """A catalogue message with its placeholders filled in, in both languages."""

    code: str
    zh: str
    en: str


def message(code: str, **params: Any) -> Message:
    """Format the catalogue entry ``code`` with ``params``; unknown codes raise ``KeyError``."""
    zh, en = MESSAGES[code]
    return Message(code=code, zh=zh.format(**params), en=en.format(**params))
