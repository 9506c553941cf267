//! What each document says: the agreement (人民调解协议书), the record (调解笔录) and the whole
//! file (卷宗), laid out in Chinese with the case number, parties' particulars and numerals.

use super::Input;
use super::layout::{Layout, day, minute, shanghai};
use crate::casefile::domain::{AgreementVersion, FollowUpAction, Performance, Signer};
use crate::domain::incident::Incident;

/// The case number printed on every document: the year and the incident id's tail.
pub(super) fn case_number(incident: &Incident) -> String {
    let id = incident.id.to_string();
    let tail: String =
        id.chars().rev().filter(char::is_ascii_alphanumeric).take(6).collect::<Vec<_>>().into_iter().rev().collect();
    format!("（{}）调字第{}号", shanghai(incident.created_at).year(), tail.to_uppercase())
}

const CHINESE_NUMERALS: [&str; 10] = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十"];

fn numeral(i: usize) -> String {
    match i {
        1..=10 => CHINESE_NUMERALS[i - 1].to_owned(),
        11..=19 => format!("十{}", CHINESE_NUMERALS[i - 11]),
        20..=99 => {
            let unit = if i.is_multiple_of(10) { String::new() } else { CHINESE_NUMERALS[i % 10 - 1].to_owned() };
            format!("{}十{unit}", CHINESE_NUMERALS[i / 10 - 1])
        }
        _ => i.to_string(),
    }
}

fn party_particulars(input: &Input, party_id: &str) -> String {
    let Some(p) = input.case.parties.iter().find(|p| p.id == party_id) else { return String::new() };
    let mut s = format!("{}：{}", p.role.label(), p.name);
    if let Some(phone) = &p.phone_masked {
        s.push_str(&format!("，联系方式：{phone}"));
    }
    if let Some(id) = &p.id_number_masked {
        s.push_str(&format!("，身份证号：{id}"));
    }
    if let Some(a) = &p.address {
        s.push_str(&format!("，住址：{a}"));
    }
    s.push('。');
    s
}

pub(super) fn agreement(l: &mut Layout, input: &Input, v: &AgreementVersion) {
    let d = &v.draft;
    l.title("人民调解协议书");
    l.right(&format!("编号：{}", case_number(&input.incident)));
    l.right(&format!("第{}版", v.number));
    l.space(6.0);
    l.heading("当事人基本情况：");
    for p in &v.parties {
        l.para(&party_particulars(input, &p.party_id), 2);
    }
    l.heading("纠纷主要事实、争议事项：");
    l.para(&d.facts, 2);
    if !d.issues.is_empty() {
        l.para(&format!("争议事项：{}", d.issues), 2);
    }
    if !d.responsibility.is_empty() {
        l.heading("各方责任：");
        l.para(&d.responsibility, 2);
    }
    l.heading("经调解，各方当事人自愿达成如下协议：");
    for (i, t) in d.terms.iter().enumerate() {
        l.para(&format!("{}、{t}", numeral(i + 1)), 2);
    }
    l.heading("履行方式、地点、期限：");
    let due = d.performance_due.map(|x| x.strftime("%Y年%m月%d日").to_string()).unwrap_or_else(|| "____".into());
    l.para(&format!("履行方式：{}；履行地点：{}；履行期限：{due}前。", d.performance_method, d.performance_place), 2);
    l.space(4.0);
    l.para("本协议自各方当事人签名（盖章或按指印）、人民调解员签名并加盖人民调解委员会印章之日起生效。", 2);
    l.para(&format!("本协议一式{}份，当事人各执一份，人民调解委员会留存一份。", v.parties.len() + 1), 2);
    l.space(10.0);
    for p in &v.parties {
        let signer = Signer::Party { party_id: p.party_id.clone() };
        let s = v.signatures.iter().find(|s| s.signer == signer);
        let label = format!("{}（签名、盖章或按指印）{}：", p.role.label(), p.name);
        l.signature_line(&label, s, &input.images);
    }
    let mediator = v.signatures.iter().find(|s| s.signer == Signer::Mediator);
    l.signature_line(&format!("人民调解员（签名）{}：", input.mediator), mediator, &input.images);
    let date = v.effective_at.map_or_else(|| "年    月    日".into(), day);
    let seal = v.effective_at.map(|_| input.seal.as_ref());
    match seal {
        Some(seal) => l.seal(&input.committee, seal, &date),
        None => {
            l.space(10.0);
            l.right(&input.committee);
            l.right(&date);
        }
    }
}

pub(super) fn record(l: &mut Layout, input: &Input) {
    let c = &input.case;
    let i = &input.incident;
    l.title("人民调解笔录");
    l.right(&format!("编号：{}", case_number(i)));
    let span = match (c.record.first(), c.record.last()) {
        (Some(a), Some(b)) => format!("{} 至 {}", minute(a.at), minute(b.at)),
        _ => "（尚无记录）".into(),
    };
    l.para(&format!("时间：{span}"), 0);
    let place = i.address.clone().or(i.place_name.clone()).unwrap_or_else(|| "____".into());
    l.para(&format!("地点：{place}"), 0);
    l.para(&format!("事由：{}", i.category.label_zh()), 0);
    l.para(&format!("调解员：{}        记录人：{}", input.mediator, input.mediator), 0);
    let names: Vec<String> = c.parties.iter().map(|p| format!("{}{}", p.role.label(), p.name)).collect();
    l.para(&format!("当事人：{}", names.join("、")), 0);
    l.space(4.0);
    l.para(
        "调解员：依照《中华人民共和国人民调解法》，人民调解委员会调解民间纠纷不收取任何费用。当事人在调解活动中享有自愿参加、自主表达意愿、自愿达成协议等权利，并负有如实陈述纠纷事实、遵守调解现场秩序、尊重对方当事人的义务。",
        2,
    );
    let mut session = 0;
    for e in &c.record {
        if e.session != session {
            session = e.session;
            l.heading(&format!("第{}次调解", numeral(session as usize)));
        }
        l.para(&format!("{}  {}", shanghai(e.at).strftime("%H:%M"), e.text), 2);
    }
    l.space(10.0);
    l.para("以上笔录已向当事人宣读（或由当事人阅看），确认无误。", 2);
    for p in &c.parties {
        let signer = Signer::Party { party_id: p.id.clone() };
        let s = c.record_signatures.iter().find(|s| s.signer == signer);
        l.signature_line(&format!("{}（签名）{}：", p.role.label(), p.name), s, &input.images);
    }
    let s = c.record_signatures.iter().find(|s| s.signer == Signer::Mediator);
    l.signature_line(&format!("调解员（签名）{}：", input.mediator), s, &input.images);
}

pub(super) fn case_file(l: &mut Layout, input: &Input) {
    let i = &input.incident;
    l.space(120.0);
    l.title("人民调解卷宗");
    l.space(40.0);
    l.para(&format!("卷号：{}", case_number(i)), 6);
    l.para(&format!("案由：{}", i.category.label_zh()), 6);
    l.para(&format!("调解组织：{}", input.committee), 6);
    l.para(&format!("人民调解员：{}", input.mediator), 6);
    l.para(&format!("受理日期：{}", day(i.created_at)), 6);
    let closed = i.resolved_at.map_or_else(|| "（未结）".into(), day);
    l.para(&format!("结案日期：{closed}"), 6);
    l.para("保管期限：长期", 6);
    l.new_page();
    l.title("卷内目录");
    for (n, what) in ["受理登记", "调解笔录", "调解协议书", "回访记录", "办理过程"].iter().enumerate()
    {
        l.para(&format!("{}、{what}", numeral(n + 1)), 2);
    }
    l.new_page();
    l.title("受理登记");
    l.para(&format!("受理时间：{}", minute(i.created_at)), 0);
    l.para(&format!("纠纷类型：{}", i.category.label_zh()), 0);
    let place = i.address.clone().or(i.place_name.clone()).unwrap_or_else(|| "____".into());
    l.para(&format!("地点：{place}"), 0);
    l.para(&format!("反映情况：{}", i.description), 0);
    for p in &input.case.parties {
        l.para(&party_particulars(input, &p.id), 0);
    }
    l.new_page();
    record(l, input);
    if let Some(v) = input.case.in_effect().or(input.case.current()) {
        l.new_page();
        agreement(l, input, v);
    }
    l.new_page();
    l.title("回访记录");
    match &i.feedback {
        Some(f) => {
            let verdict = if f.resolved { "已解决" } else { "未解决" };
            l.para(
                &format!(
                    "{}  当事人评价：{}分，{verdict}。{}",
                    minute(f.at),
                    f.rating,
                    f.comment.clone().unwrap_or_default()
                ),
                0,
            );
        }
        None => l.para("（尚未回访）", 0),
    }
    for f in &input.case.follow_ups {
        let found = match f.performance {
            Performance::Performed => "已履行",
            Performance::Partly => "部分履行",
            Performance::NotPerformed => "未履行",
        };
        let action = match f.action {
            FollowUpAction::None => "",
            FollowUpAction::Urged => "，已督促履行",
            FollowUpAction::AdvisedToSue => "，已告知可向人民法院起诉",
        };
        l.para(&format!("{}  履行情况：{found}{action}。{}", minute(f.at), f.note), 0);
    }
    if let Some(c) = &input.case.confirmation {
        let result = match c.result.as_deref() {
            Some("confirmed") => "，已确认",
            Some("rejected") => "，已驳回",
            _ => "",
        };
        l.heading("司法确认");
        l.para(&format!("{}向{}申请司法确认{result}。", c.applied_on.strftime("%Y年%m月%d日"), c.court), 2);
    }
    l.heading("办理过程");
    for e in &input.timeline {
        let event = serde_json::to_value(&e.event)
            .ok()
            .and_then(|v| v.get("type").and_then(|t| t.as_str().map(str::to_owned)))
            .unwrap_or_default();
        l.para(&format!("{}  {event}", minute(e.at)), 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerals_read_as_in_documents() {
        assert_eq!(numeral(1), "一");
        assert_eq!(numeral(12), "十二");
        assert_eq!(numeral(20), "二十");
        assert_eq!(numeral(23), "二十三");
    }

    #[test]
    fn party_roles_have_their_paper_names() {
        assert_eq!(crate::casefile::domain::PartyRole::Respondent.label(), "被申请人");
    }
}
