//! Common clauses per category, for drafting an agreement on the phone: pick, then edit.
//! Plain starting points in the district's usual wording, not legal advice; `____` marks
//! what the mediator fills in.

use crate::domain::category::Category;

/// A category's template: the sections' opening words and the usual terms.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Template {
    /// The category.
    #[schema(value_type = String)]
    pub category: Category,
    /// 纠纷主要事实, to complete.
    pub facts: &'static str,
    /// 争议事项, to complete.
    pub issues: &'static str,
    /// Clauses to pick from.
    pub clauses: Vec<&'static str>,
    /// The usual way of performing.
    pub performance_method: &'static str,
}

/// The template for `category`.
#[must_use]
pub fn for_category(category: Category) -> Template {
    let (facts, issues, clauses, method): (&str, &str, &[&str], &str) = match category {
        Category::Neighbor => (
            "双方系邻居，因____问题发生纠纷。",
            "____造成的损失由谁承担、今后如何相处。",
            &[
                "被申请人于____年__月__日前修复____，费用由被申请人承担。",
                "被申请人一次性赔偿申请人损失____元。",
                "双方今后互谅互让，不再因此事发生争执。",
                "夜间22时至次日7时不进行产生噪音的活动。",
            ],
            "现金或转账一次性支付",
        ),
        Category::Family => (
            "双方系____关系，因____发生家庭矛盾。",
            "____的照顾、费用分担及相处方式。",
            &[
                "____每月__日前支付赡养（抚养）费____元。",
                "双方相互尊重，不得有打骂、威胁等行为。",
                "____由____负责照顾，费用由双方各承担一半。",
            ],
            "按月转账支付",
        ),
        Category::Property => (
            "申请人系____小区业主，与物业服务企业因____发生纠纷。",
            "物业服务费的缴纳及____问题的处理。",
            &[
                "物业服务企业于____前完成____的维修。",
                "申请人于____前缴纳物业服务费____元。",
                "双方此后按物业服务合同履行各自义务。",
            ],
            "转账支付；维修由物业服务企业组织",
        ),
        Category::Wages => (
            "申请人在被申请人处从事____工作，被申请人拖欠工资____元。",
            "拖欠工资的数额及支付期限。",
            &[
                "被申请人于____年__月__日前一次性支付申请人工资____元。",
                "被申请人分__期支付，每期____元，于每月__日前支付。",
                "款项付清后，双方因本次劳务关系再无其他争议。",
            ],
            "银行转账至申请人账户",
        ),
        Category::Land => (
            "双方因____土地（房屋）的使用、界址发生纠纷。",
            "____的权属、使用范围及补偿。",
            &["双方以____为界，各自使用界内土地。", "____一次性补偿____元。", "双方不再就该____主张其他权利。"],
            "现场确认界址，补偿款转账支付",
        ),
        Category::Traffic => (
            "____年__月__日，双方在____发生交通事故，造成____。",
            "事故责任的承担及损失赔偿。",
            &[
                "被申请人一次性赔偿申请人医疗费、误工费、车辆维修费等共计____元。",
                "赔偿款付清后，双方就本次事故再无其他争议。",
            ],
            "现金或转账一次性支付",
        ),
        Category::Consumer => (
            "申请人于____在被申请人处购买（接受）____，因____发生纠纷。",
            "退货、退款或赔偿。",
            &["被申请人于____前为申请人办理退货并退款____元。", "被申请人赔偿申请人____元。"],
            "原支付渠道退款",
        ),
        Category::Other => {
            ("双方因____发生纠纷。", "____。", &["____于____前____。", "双方不再因此事发生争执。"], "____")
        }
    };
    Template { category, facts, issues, clauses: clauses.to_vec(), performance_method: method }
}
